/**
 * A typed client for a smolstep server over plain `fetch`: browsers, Deno, Node 18+ and Workers.
 *
 * This module is its own entry point and is not re-exported from `lib/mod.ts`. Its only runtime import is the SSE
 * reader (`net/sse.ts`, which imports nothing); everything else it takes from lib/ is `import type`, erased when
 * bundling, so a browser bundle built from it contains no hono, zod or openai (tests/client_test.ts checks its module
 * graph).
 */
import { readSse, type SseMessage } from "./net/sse.ts";
import type {
  AgentList,
  CancelResult,
  ClientOptions,
  DeltaEvent,
  EventsOptions,
  RunEvent,
  RunInput,
  RunOptions,
  RunStepView,
  RunToEndOptions,
  RunView,
  SmolstepClient,
  StartRunOptions,
  StatelessStep,
  StepOptions,
  StepResponse,
  StreamStepEvent,
  StreamStepOptions,
  StreamStepTarget,
} from "./client_types.ts";

export type * from "./client_types.ts";

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * A non-2xx answer: the HTTP status and the server's `{error: {code, message, retryable}}` (`http_error` if it sent
 * none; `retryable` from the status if it did not say). It has the `code` and `retryable` of the server's
 * `SmolstepError`s, but is not one: this module imports no error classes from lib/ at run time.
 */
export class SmolstepClientError extends Error {
  override name = "SmolstepClientError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryable: boolean = RETRYABLE_STATUS.has(status),
  ) {
    super(message);
  }
}
const STOPPED = new Set(["run_finished", "not_awaiting_input"]);
type SendInit = { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal };

/** Creates a client for one server; see the module comment. */
export function createClient(options: ClientOptions): SmolstepClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const retries = options.retries ?? 3;
  const backoff = (attempt: number) => (options.retryDelayMs ?? 250) * 2 ** attempt;
  const run = (runId: string) => `/v1/runs/${encodeURIComponent(runId)}`;
  const agentPath = (agent: string) => `/v1/agents/${encodeURIComponent(agent)}`;
  async function send(method: string, path: string, init: SendInit = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const response = await doFetch(base + path, { method, headers, body, signal: init.signal });
    if (!response.ok) throw await errorFrom(response);
    return response;
  }
  const json = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> =>
    await (await send(method, path, { body, signal })).json() as T;

  const client: SmolstepClient = {
    listAgents: (signal?: AbortSignal) => json<AgentList>("GET", "/v1/agents", undefined, signal),
    /** Creates a KV-mode run. With `background: true` the server steps it; follow it with `events()`. */
    startRun:
      ((agent: string, body: StartRunOptions & { firstStep?: boolean }) =>
        json("POST", `${agentPath(agent)}/runs`, body)) as SmolstepClient["startRun"],
    getRun: (runId: string, signal?: AbortSignal) => json<RunView>("GET", run(runId), undefined, signal),
    /** Asks the run to stop: at once when idle, right after the step in flight otherwise. */
    cancel: (runId: string) => json<CancelResult>("POST", `${run(runId)}/cancel`),
    /**
     * Deletes a run with its blobs (404 `run_not_found` if absent; 409 `step_in_progress` while a step runs: retry
     * when it has finished). Not retried.
     */
    async deleteRun(runId: string): Promise<void> {
      const response = await send("DELETE", run(runId));
      await response.body?.cancel();
    },
    getBlob: async (runId: string, ref: string, signal?: AbortSignal) => {
      const digest = encodeURIComponent(/[0-9a-f]{64}/.exec(ref)?.[0] ?? ref);
      return await (await send("GET", `${run(runId)}/blobs/${digest}`, { signal })).blob();
    },
    /** Answers a run in `awaiting_input`. Not retried: a resumed run refuses a second answer (409). */
    submitInput: (runId: string, input: RunInput) => json<RunStepView>("POST", `${run(runId)}/input`, input),
    /**
     * Runs exactly one step. Sends an `Idempotency-Key` (random unless given) and retries a lost response with it,
     * so the server replays the step it took (`replayed: true`) instead of taking a second one; while that step still
     * runs (`step_in_progress`), it asks again until the step is there (see `stepRetries`).
     */
    async step(runId: string, { idempotencyKey, signal }: StepOptions = {}): Promise<StepResponse> {
      const headers = { "Idempotency-Key": idempotencyKey ?? randomKey() };
      const retryAfter = stepRetries(retries, backoff, signal);
      for (;;) {
        try {
          const response = await send("POST", `${run(runId)}/steps`, { headers, signal });
          const view = await response.json() as RunStepView;
          return { ...view, replayed: response.headers.get("Idempotent-Replayed") === "true" };
        } catch (error) {
          const delay = retryAfter(error);
          if (delay === undefined) throw error;
          await sleep(delay, signal);
        }
      }
    },
    /**
     * Steps the run until it is no longer `running` (ended, or `awaiting_input`: answer with `submitInput`, then
     * call again), and returns the run. Not for background runs: the server steps those itself.
     */
    async runToEnd(runId: string, opts: RunToEndOptions = {}): Promise<RunView> {
      for (;;) {
        const result = await client.step(runId, { signal: opts.signal }).catch((error) => {
          if (error instanceof SmolstepClientError && STOPPED.has(error.code)) return null;
          throw error;
        });
        if (!result) break;
        await opts.onStep?.(result);
        if (result.status !== "running") break;
      }
      return await client.getRun(runId, opts.signal);
    },
    /**
     * Follows a run's Server-Sent Events until its `end` event. When the server closes the stream earlier (it does
     * every `events.maxDurationMs`, and after `events.maxReads` reads of the run), reconnects with `Last-Event-ID`,
     * so every step is yielded once; a pause is announced once however often the server repeats it. Failing
     * connections are retried `retries` times in a row.
     */
    async *events(runId: string, opts: EventsOptions = {}): AsyncGenerator<RunEvent, void, undefined> {
      let lastId = opts.lastEventId === undefined ? undefined : String(opts.lastEventId);
      let [failures, paused] = [0, false];
      for (;;) {
        opts.signal?.throwIfAborted();
        const connection = new AbortController();
        const abort = () => connection.abort(opts.signal?.reason);
        opts.signal?.addEventListener("abort", abort, { once: true });
        let received = false;
        try {
          const headers: Record<string, string> = { Accept: "text/event-stream" };
          if (lastId !== undefined) headers["Last-Event-ID"] = lastId;
          const response = await send("GET", `${run(runId)}/events`, { headers, signal: connection.signal });
          for await (const message of readSse(response.body!)) {
            received = true;
            if (message.id !== undefined) lastId = message.id;
            const event = message.event === "delta" && !opts.deltas ? undefined : toRunEvent(message);
            if (!event || (event.type === "awaiting_input" && paused)) continue;
            if (event.type !== "delta") paused = event.type === "awaiting_input";
            yield event;
            if (event.type === "end") return;
          }
          failures = 0;
        } catch (error) {
          opts.signal?.throwIfAborted();
          // The body's `retryable` decides where the server sent one, else the status (`SmolstepClientError`'s default).
          const fatal = error instanceof SmolstepClientError && !error.retryable;
          failures = received ? 1 : failures + 1;
          if (fatal || failures > retries) throw error;
        } finally {
          opts.signal?.removeEventListener("abort", abort);
          connection.abort();
        }
        // Reconnect at once after a clean close that brought news; otherwise wait, so no server is hammered.
        if (failures > 0 || !received) await sleep(backoff(Math.max(0, failures - 1)), opts.signal);
      }
    },

    /**
     * One step of a KV run (`runId`) or a stateless run (`{agent, state}`), or with `input` the answer to a paused
     * run, as Server-Sent Events: yields each model delta as it arrives, then `{type: "step", response}` (also the
     * generator's return value): the same body `step()` / `submitInput()` / `statelessStep()` / `statelessInput()`
     * return. A failure the server reports before the step starts, or in the stream (`event: error`, the run
     * unchanged), is thrown as `SmolstepClientError` (status 200 for the latter). A KV step sends an
     * `Idempotency-Key` and is retried like `step()` when its connection is lost: the server then replays the step
     * it took (without deltas) or takes it once.
     */
    async *streamStep(
      target: StreamStepTarget,
      { idempotencyKey, signal, input }: StreamStepOptions = {},
    ): AsyncGenerator<StreamStepEvent, StepResponse | RunStepView | StatelessStep, undefined> {
      const kv = typeof target === "string";
      const route = input ? "input" : "steps";
      let path: string;
      let body: unknown;
      if (kv) [path, body] = [`${run(target)}/${route}`, input ?? {}];
      else if ("start" in target) {
        [path, body] = [`${agentPath(target.agent)}/runs`, { ...target.start, firstStep: true }];
      } else [path, body] = [`${agentPath(target.agent)}/${route}`, { state: target.state, ...input }];
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      const retried = kv && !input;
      if (retried) headers["Idempotency-Key"] = idempotencyKey ?? randomKey();
      const retryAfter = stepRetries(retries, backoff, signal);
      for (;;) {
        try {
          const response = await send("POST", path, { body, headers, signal });
          const replayed = response.headers.get("Idempotent-Replayed") === "true";
          for await (const message of readSse(response.body!)) {
            const data = JSON.parse(message.data);
            if (message.event === "delta") yield data as DeltaEvent;
            else if (message.event === "error") {
              throw new SmolstepClientError(
                200,
                data.error?.code ?? "http_error",
                data.error?.message ?? "",
                data.error?.retryable,
              );
            } else if (message.event === "step") {
              const done = { type: "step" as const, response: retried ? { ...data, replayed } : data };
              yield done;
              return done.response;
            }
          }
          throw new TypeError("The step's event stream ended before its step event.");
        } catch (error) {
          // Only a KV step is retried (its key makes the retry replay it).
          const delay = retried ? retryAfter(error) : undefined;
          if (delay === undefined) throw error;
          await sleep(delay, signal);
        }
      }
    },

    /** Stateless mode: nothing is stored; the returned token is the run. */
    startStatelessRun:
      ((agent: string, body: RunOptions & { firstStep?: boolean }) =>
        json("POST", `${agentPath(agent)}/runs`, { ...body, stateless: true })) as SmolstepClient["startStatelessRun"],
    statelessStep: (agent: string, token: string, signal?: AbortSignal) =>
      json<StatelessStep>("POST", `${agentPath(agent)}/steps`, { state: token }, signal),
    statelessInput: (agent: string, token: string, input: RunInput) =>
      json<StatelessStep>("POST", `${agentPath(agent)}/input`, { state: token, ...input }),
  };
  return client;
}

/** How long a KV step whose connection was lost waits, at most, for the step that connection started to commit. */
const STEP_WAIT_MS = 10 * 60_000;
/** The longest pause between two asks while that step runs. */
const STEP_WAIT_DELAY_MS = 2_000;

/**
 * When a KV step request that failed is sent again with its key, as a delay (undefined: throw the error). A lost
 * connection is retried `retries` times in a row. Once one was lost, `step_in_progress` is most likely the step it
 * started, still running (a model call takes seconds to minutes, within the server's lock): it is asked again until
 * it commits and is replayed (or its lock expires and the retry takes it), for up to `STEP_WAIT_MS`.
 */
function stepRetries(retries: number, backoff: (attempt: number) => number, signal?: AbortSignal) {
  let lost = 0;
  let waits = 0;
  let waitingSince: number | undefined;
  return (error: unknown): number | undefined => {
    if (error instanceof SmolstepClientError) {
      if (error.code !== "step_in_progress" || lost === 0) return undefined;
      waitingSince ??= Date.now();
      if (Date.now() - waitingSince > STEP_WAIT_MS) return undefined;
      return Math.min(backoff(waits++), STEP_WAIT_DELAY_MS);
    }
    if (signal?.aborted || lost >= retries) return undefined;
    return backoff(lost++);
  };
}

async function errorFrom(response: Response): Promise<SmolstepClientError> {
  const text = await response.text().catch(() => "");
  let error: { code?: unknown; message?: unknown; retryable?: unknown } | undefined;
  try {
    error = JSON.parse(text)?.error;
  } catch { /* not JSON: a proxy or gateway answered */ }
  const code = typeof error?.code === "string" ? error.code : "http_error";
  const message = typeof error?.message === "string" ? error.message : text.slice(0, 300) || response.statusText;
  const retryable = typeof error?.retryable === "boolean" ? error.retryable : undefined;
  return new SmolstepClientError(response.status, code, message || `HTTP ${response.status}`, retryable);
}

/** 128 random bits in hex: `crypto.getRandomValues` works outside secure contexts, unlike `randomUUID`. */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const aborted = () => (clearTimeout(timer), reject(signal!.reason));
    const timer = setTimeout(() => (signal?.removeEventListener("abort", aborted), resolve()), ms);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

/** A server event as a `RunEvent`; undefined for events this client does not know (yet). */
function toRunEvent(message: SseMessage): RunEvent | undefined {
  const data = JSON.parse(message.data);
  if (message.event === "delta") return data as DeltaEvent;
  if (message.event === "step") return { type: "step", id: Number(message.id), step: data };
  if (message.event === "awaiting_input") return { type: "awaiting_input", pendingInput: data };
  if (message.event !== "end") return undefined;
  return { type: "end", status: data.status, finalAnswer: data.finalAnswer ?? null, error: data.error ?? null };
}
