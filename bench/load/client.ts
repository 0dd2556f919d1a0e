/**
 * Closed-loop load clients: each client starts a run, steps it until it ends, and starts the next, with no pause
 * between requests except the backoff its retry policy asks for. Three protocols share the loop: smolstep's KV
 * mode, its stateless mode, and the floor server (a "run" of a few bare model calls, no store).
 */
import { type ClientDecision, decideRetry, parseRetryAfter, type RetryPolicy } from "./retry_policy.ts";
import type { AttemptOutcome, LevelRecorder } from "./stats.ts";

/** One HTTP request a client sends. */
export interface RequestSpec {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** How a client talks to one kind of server: what to send, and how to read the answers. */
export interface RunProtocol<Run> {
  /** The request that starts a run, or null when a run needs no request (the floor). */
  create(): RequestSpec | null;
  /** The run handle from the create answer (null when `create` returned null). */
  started(body: unknown): Run;
  /** The request for the run's next step; `stepKey` is the same across retries of one step. */
  step(run: Run, stepKey: string): RequestSpec;
  /** The run after a committed step, and whether it has ended. */
  stepped(run: Run, body: unknown): { run: Run; ended: boolean };
  /** The create answer is the run's first step (`firstStep: true`): it counts as a step. */
  createSteps?: boolean;
}

/** The JSON fields of smolstep's step and run answers that the clients read. */
interface RunAnswer {
  runId?: string;
  status?: string;
  state?: string;
}

const TASK = "Add a few numbers, then answer.";

/**
 * KV mode: POST /v1/agents/:name/runs, then POST /v1/runs/:id/steps with an Idempotency-Key per step. With
 * `firstStep`, the create takes the run's first step (`firstStep: true`), one request fewer per run.
 */
export function kvProtocol(agent: string, { firstStep = false } = {}): RunProtocol<{ runId: string }> {
  return {
    create: () => ({ path: `/v1/agents/${agent}/runs`, body: { task: TASK, ...(firstStep ? { firstStep } : {}) } }),
    started: (body) => ({ runId: String((body as RunAnswer).runId) }),
    step: (run, stepKey) => ({ path: `/v1/runs/${run.runId}/steps`, headers: { "Idempotency-Key": stepKey } }),
    stepped: (run, body) => ({ run, ended: (body as RunAnswer).status !== "running" }),
    createSteps: firstStep,
  };
}

/**
 * Stateless mode: the run travels as a sealed token, each answer carrying the next one. With `firstStep`, the create
 * takes the run's first step, one request fewer per run.
 */
export function statelessProtocol(agent: string, { firstStep = false } = {}): RunProtocol<{ token: string }> {
  return {
    create: () => ({
      path: `/v1/agents/${agent}/runs`,
      body: { task: TASK, stateless: true, ...(firstStep ? { firstStep } : {}) },
    }),
    started: (body) => ({ token: String((body as RunAnswer).state) }),
    step: (run) => ({ path: `/v1/agents/${agent}/steps`, body: { state: run.token } }),
    stepped: (_run, body) => {
      const answer = body as RunAnswer;
      return { run: { token: String(answer.state) }, ended: answer.status !== "running" };
    },
    createSteps: firstStep,
  };
}

/** The floor: `stepsPerRun` POST /step calls, each one model call on the floor server. */
export function floorProtocol(stepsPerRun: number): RunProtocol<{ left: number }> {
  return {
    create: () => null,
    started: () => ({ left: stepsPerRun }),
    step: () => ({ path: "/step", body: {} }),
    stepped: (run) => ({ run: { left: run.left - 1 }, ended: run.left <= 1 }),
  };
}

export interface ClientOptions {
  baseUrl: string;
  /** Sent with every request (e.g. Authorization). */
  headers?: Record<string, string>;
  recorder: LevelRecorder;
  policy: RetryPolicy;
  /** The client aborts an attempt after this long (a user who gives up); none by default. */
  timeoutMs?: number;
  /** No new run starts after this time (epoch ms); the current run is still stepped until `stopAt`. */
  newRunsUntil: number;
  /** Start at most this many runs (default: no limit). */
  maxRuns?: number;
  /** Every attempt in flight is aborted and the client returns (epoch ms). */
  stopAt: number;
  /** Aborts everything at once (e.g. Ctrl-C). */
  signal?: AbortSignal;
  random?: () => number;
}

/** What one client left behind when it stopped. */
export interface ClientResult<Run> {
  /** The run it was stepping when time ran out (not ended), if any. */
  unfinished?: Run;
}

/** One closed-loop client. Resolves when `stopAt` has passed. */
export async function runClient<Run>(protocol: RunProtocol<Run>, options: ClientOptions): Promise<ClientResult<Run>> {
  const { recorder } = options;
  const stop = AbortSignal.any([AbortSignal.timeout(Math.max(0, options.stopAt - Date.now())), options.signal]
    .filter((s): s is AbortSignal => s !== undefined));
  let runs = 0;
  while (runs < (options.maxRuns ?? Infinity) && Date.now() < options.newRunsUntil && !stop.aborted) {
    let run: Run | undefined;
    let endedAtCreate = false;
    const spec = protocol.create();
    if (spec === null) run = protocol.started(null);
    else {
      const createStart = Date.now();
      const created = await untilDone(spec, options, stop);
      if (created.outcome === "stopped") return {};
      if (created.outcome !== "done") {
        // Try a new create, as a client whose create failed would, after a pause (a refusal comes back at once).
        if (!await sleep(options.policy.baseDelayMs, stop)) return {};
        continue;
      }
      run = protocol.started(created.body);
      if (protocol.createSteps) {
        const now = Date.now();
        recorder.step(now - createStart, now);
        endedAtCreate = protocol.stepped(run, created.body).ended;
      }
    }
    runs++;
    recorder.run("started", Date.now());
    if (endedAtCreate) recorder.run("finished", Date.now());
    while (!endedAtCreate) {
      const stepStart = Date.now();
      const stepped = await untilDone(protocol.step(run, crypto.randomUUID()), options, stop);
      if (stepped.outcome === "stopped") return { unfinished: run };
      if (stepped.outcome !== "done") {
        recorder.run(stepped.outcome === "run_ended" ? "finished" : "abandoned", Date.now());
        break;
      }
      const now = Date.now();
      recorder.step(now - stepStart, now);
      const next = protocol.stepped(run, stepped.body);
      run = next.run;
      if (next.ended) {
        recorder.run("finished", now);
        break;
      }
    }
  }
  return {};
}

type UntilDone =
  | { outcome: "done"; body: unknown }
  | { outcome: "give_up" | "run_ended" | "stopped" };

/** Sends the request until it succeeds, the policy gives up, or the client must stop. */
async function untilDone(spec: RequestSpec, options: ClientOptions, stop: AbortSignal): Promise<UntilDone> {
  for (let attempt = 1;; attempt++) {
    if (stop.aborted) return { outcome: "stopped" };
    const { outcome, body } = await sendOnce(spec, options, stop);
    if (stop.aborted) return { outcome: "stopped" };
    options.recorder.attempt(outcome, Date.now());
    const decision: ClientDecision = decideRetry(outcome, attempt, options.policy, options.random);
    if (decision.action === "done") return { outcome: "done", body };
    if (decision.action !== "retry") return { outcome: decision.action };
    const waited = await sleep(decision.delayMs, stop);
    if (!waited) return { outcome: "stopped" };
  }
}

/** One attempt, with the client's own timeout; never throws. */
export async function sendOnce(
  spec: RequestSpec,
  options: Pick<ClientOptions, "baseUrl" | "headers" | "timeoutMs">,
  stop?: AbortSignal,
): Promise<{ outcome: AttemptOutcome; body?: unknown }> {
  const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const signals = [timeout, stop].filter((s): s is AbortSignal => s !== undefined);
  try {
    const response = await fetch(options.baseUrl + spec.path, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers, ...spec.headers },
      body: JSON.stringify(spec.body ?? {}),
      signal: signals.length ? AbortSignal.any(signals) : undefined,
    });
    const text = await response.text();
    const body = parseJson(text);
    if (response.ok) return { outcome: { kind: "ok", status: response.status }, body };
    const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
    const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
    return {
      outcome: {
        kind: "http",
        status: response.status,
        code: typeof code === "string" ? code : undefined,
        retryAfterSeconds,
      },
      body,
    };
  } catch (error) {
    if (timeout?.aborted || stop?.aborted) return { outcome: { kind: "timeout" } };
    return { outcome: { kind: "network", message: error instanceof Error ? error.message : String(error) } };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
