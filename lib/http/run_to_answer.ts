/**
 * "Run an agent to its final answer from one request", for the front ends that answer with a whole run (the
 * OpenAI-compatible `POST /v1/chat/completions`, MCP `tools/call`): `startRunToAnswer` starts the run and returns its
 * id at once, with `progress`, the run's model deltas and step records as they happen, ending with its final state.
 *
 * How the steps are taken depends on the app:
 *
 * - Store and queue (`background`): the run is a background run; the request only follows it, like
 *   `GET /v1/runs/{id}/events`: it hears the run's deltas through `AppOptions.deltas` and reads the record every
 *   `events.pollMs` (500 ms by default), 50 ms after a step's deltas go quiet (its commit is then close), and less and
 *   less often while nothing changes (each read is a store round trip, a subrequest on Workers), to 10 polls' time,
 *   at most 5 s. A background run that fails ends `failed` (the background runner ends it).
 * - Store only (`kv`): the request steps the KV run itself, one `RunService.step` after another, each a step like
 *   `POST /v1/runs/{id}/steps` (lock, idempotency key, a place among `maxStepsInFlight` or 503 `overloaded`, its
 *   own deadline) with the model's deltas. The first step's place is taken before the run is written: a full
 *   server refuses the request (503, safe to retry) and no run is left behind. A step that throws leaves the run exactly as it was (`running` at its last
 *   committed step) and `progress` throws its error: the caller reports it, the run can be continued with
 *   `POST /v1/runs/{id}/steps`.
 * - No store (`memory`, only when the caller asks for it): `agent.step` in this request, the same admission and
 *   deadlines; there is no run id, and a step that throws ends the progress with its error.
 *
 * A run that pauses for input (`awaiting_input`) ends the progress too: nobody in the request can answer it.
 *
 * A caller that goes away (its signal aborts) abandons the step in flight, and the progress stops; then `onAbort`
 * says what becomes of a stored run: `leave` it (a background run goes on to its end; a KV run stays `running` at
 * its last committed step) or `cancel` it (`RunService.cancel`). The OpenAI endpoint leaves, MCP cancels.
 *
 * Which mode each runtime's entry gets: `functions/deno.ts` (Deno KV and its queue) `background`;
 * `functions/worker.ts` `background` with the `STEPS` queue (and a `STATE` or `RUNS` store; the deltas then go
 * through the run's Durable Object, `DurableObjectDeltaRelay`, else the progress is the step records alone), `kv`
 * with a store and no queue (every step then inside the request's subrequest and CPU limits), and without a store
 * `memory` for MCP (the OpenAI endpoint answers 501 `store_not_configured`).
 */
import type { DeltaEvent } from "../agents/agent_events.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import { RunError, type RunRecord } from "../runs/run_record.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { AppContext } from "./app_context.ts";

/** What a request may ask of the run: the same fields as `POST /v1/agents/{name}/runs`. */
export interface RunToAnswerInput {
  agent: string;
  task: string;
  additionalArgs?: Record<string, unknown>;
  /** `data:` or https: image URLs (the egress policy applies). */
  images?: string[];
  maxSteps?: number;
}

export interface RunToAnswerOptions {
  /** The caller's signal (its request's). */
  signal: AbortSignal;
  /** What the caller's departure does to a stored run: `leave` it as it is, or `cancel` it. */
  onAbort: "cancel" | "leave";
  /** Without a store: step the run in `memory` (no run id), or `refuse` (501 `store_not_configured`, the default). */
  withoutStore?: "memory" | "refuse";
}

/** One piece of a run's progress; the last one is `end` (unless the caller went away or a step threw). */
export type RunProgress =
  | { type: "delta"; event: DeltaEvent }
  | { type: "step"; index: number; step: StepRecord }
  | { type: "end"; state: AgentState };

/** A run kept in the store: its id (`GET /v1/runs/{id}`) and its blobs (media answers). */
export interface StoredRunToAnswer {
  runId: string;
  mode: "background" | "kv";
  blobs: BlobStorage;
  /** Iterate once. Throws what a failed `kv` step throws (the run stays at its previous step). */
  progress: AsyncIterable<RunProgress>;
}

/** A run that lives in this request only. */
export interface MemoryRunToAnswer {
  runId?: undefined;
  mode: "memory";
  blobs?: undefined;
  /** Iterate once. Throws what a failed step throws. */
  progress: AsyncIterable<RunProgress>;
}

export type RunToAnswer = StoredRunToAnswer | MemoryRunToAnswer;

/** A followed run is read every `events.pollMs`, up to this many times slower while nothing changes... */
const MAX_POLL_BACKOFF = 10;
/** ...and at least this often (unless `events.pollMs` itself is longer). */
const MAX_POLL_MS = 5_000;
/** How long after a followed step's last delta the run is read again (its commit is then close). */
const DELTA_QUIET_MS = 50;

/**
 * Starts the run (errors such as `agent_not_found`, `store_not_configured`, `task_too_large` are thrown here,
 * before anything is written) and returns its progress.
 */
export async function startRunToAnswer(
  ctx: AppContext,
  input: RunToAnswerInput,
  options: RunToAnswerOptions & { withoutStore?: "refuse" },
): Promise<StoredRunToAnswer>;
export async function startRunToAnswer(
  ctx: AppContext,
  input: RunToAnswerInput,
  options: RunToAnswerOptions,
): Promise<RunToAnswer>;
export async function startRunToAnswer(
  ctx: AppContext,
  input: RunToAnswerInput,
  { signal, onAbort, withoutStore = "refuse" }: RunToAnswerOptions,
): Promise<RunToAnswer> {
  const agent = ctx.agent(input.agent);
  const runs = withoutStore === "memory" ? ctx.runs : ctx.requireRuns();
  for (const image of input.images ?? []) if (!image.startsWith("data:")) ctx.requireAllowedUrl("images", image);
  const state = agent.start(input.task, {
    maxSteps: input.maxSteps,
    additionalArgs: input.additionalArgs,
    images: input.images,
  });
  if (!runs) {
    let current = state;
    const progress = stepHere(ctx, state, signal, async (stepSignal, onDelta) => {
      return current = (await agent.step(current, { signal: stepSignal, onDelta })).state;
    });
    return { mode: "memory", progress };
  }
  const background = ctx.background;
  // Stepped here (`kv`): the first step's place is taken before the run is written, so a full server refuses
  // (503 `overloaded`, safe to retry) and leaves no run behind; the first step takes the place over.
  const firstPlace = background ? undefined : ctx.admission.enterOrRefuse();
  let record: RunRecord;
  try {
    record = await runs.create(input.agent, state, { background: Boolean(background) });
    if (background) await background.start(record);
  } catch (error) {
    firstPlace?.();
    throw error;
  }
  const progress = firstPlace ? stepRun(ctx, record, signal, firstPlace) : followRun(ctx, record, signal);
  const { runId } = record;
  return {
    runId,
    mode: background ? "background" : "kv",
    blobs: runs.blobsFor(runId),
    progress: onAbort === "cancel" ? cancelledOnAbort(progress, signal, () => runs.cancel(runId)) : progress,
  };
}

/** The progress, and `cancel` once it stops because the caller went away (after any step in flight let go). */
async function* cancelledOnAbort(
  progress: AsyncGenerator<RunProgress>,
  signal: AbortSignal,
  cancel: () => Promise<unknown>,
): AsyncGenerator<RunProgress> {
  try {
    yield* progress;
  } finally {
    if (signal.aborted) await cancel().catch(() => {});
  }
}

/** Follows a background run: the deltas heard, each new step record, then its end (or its pause). */
async function* followRun(ctx: AppContext, created: RunRecord, signal: AbortSignal): AsyncGenerator<RunProgress> {
  const runs = ctx.requireRuns();
  const pollMs = ctx.options.events?.pollMs ?? 500;
  const slowestMs = Math.min(pollMs * MAX_POLL_BACKOFF, Math.max(pollMs, MAX_POLL_MS));
  const heard = new Pending<RunProgress>();
  // The last action step followed: a delta of it or an earlier step comes late (a relay between processes may
  // deliver one after the step's commit) and is dropped, so deltas only ever precede their step.
  let followedStepNumber = created.state.stepNumber;
  const stop = ctx.deltas.subscribe(created.runId, (event) => {
    if (event.stepNumber > followedStepNumber) heard.push({ type: "delta", event });
  });
  let next = created.state.steps.length;
  let waitMs = pollMs;
  try {
    while (!signal.aborted) {
      // Deltas heard before the read come before the steps it finds (their step is among them, or still to come).
      const before = heard.take().filter((item) => item.type !== "delta" || item.event.stepNumber > followedStepNumber);
      const found = await runs.get(created.runId);
      yield* before;
      if (!found) throw new RunError("run_not_found", `The run '${created.runId}' is gone.`);
      const { state } = found.record;
      // A run that moves is read every `pollMs`; one that waits (a slow model), less and less often.
      waitMs = next < state.steps.length ? pollMs : Math.min(waitMs * 2, slowestMs);
      for (; next < state.steps.length; next++) yield { type: "step", index: next, step: state.steps[next] };
      followedStepNumber = state.stepNumber;
      if (state.status !== "running") {
        yield { type: "end", state };
        return;
      }
      const until = Date.now() + waitMs;
      let heardAt = 0;
      while (Date.now() < until && !signal.aborted) {
        // A step that streamed and went quiet is committing: read it now rather than at the next poll.
        const quietAt = heardAt ? heardAt + DELTA_QUIET_MS : Infinity;
        if (Date.now() >= quietAt) break;
        await heard.wait(Math.min(until, quietAt) - Date.now(), signal);
        const deltas = heard.take();
        if (deltas.length) [heardAt, waitMs] = [Date.now(), pollMs];
        yield* deltas;
      }
    }
  } finally {
    stop();
  }
}

/**
 * Steps a KV run in this request, each step as `POST /v1/runs/{id}/steps` takes it; the first in `firstPlace`, which
 * is released if the progress is let go before it starts.
 */
function stepRun(
  ctx: AppContext,
  created: RunRecord,
  signal: AbortSignal,
  firstPlace: () => void,
): AsyncGenerator<RunProgress> {
  const runs = ctx.requireRuns();
  let record = created;
  const steps = stepHere(ctx, created.state, signal, async (stepSignal, onDelta) => {
    try {
      ({ record } = await runs.step(record.runId, (found) => ctx.agent(found.agent), {
        idempotencyKey: `answer:${record.seq}`,
        signal: stepSignal,
        onDelta,
      }));
    } catch (error) {
      // Ended meanwhile by someone else (cancelled through its route, say): that end is the run's end.
      const ended = error instanceof RunError && error.code === "run_finished" && await runs.get(record.runId);
      if (!ended) throw error;
      record = ended.record;
    }
    return record.state;
  }, firstPlace);
  return releasedUnlessStarted(steps, firstPlace);
}

/** `steps`, and `release` when they are let go (`return`, `throw`) before their first `next`. */
function releasedUnlessStarted(steps: AsyncGenerator<RunProgress>, release: () => void): AsyncGenerator<RunProgress> {
  let started = false;
  const letGo = () => {
    if (!started) release();
  };
  const released: AsyncGenerator<RunProgress> = {
    next: (...args) => (started = true, steps.next(...args)),
    return: (value) => (letGo(), steps.return(value)),
    throw: (error) => (letGo(), steps.throw(error)),
    [Symbol.asyncIterator]: () => released,
    [Symbol.asyncDispose]: () => (letGo(), steps[Symbol.asyncDispose]()),
  };
  return released;
}

/** One step taken here: the state after it (a step that fails throws, and the state is as it was). */
type TakeStep = (signal: AbortSignal, onDelta: (event: DeltaEvent) => void) => Promise<AgentState>;

/**
 * Steps in this request while the run runs, each step within admission (503 `overloaded` at `maxStepsInFlight`, as
 * a step request) and its own deadline: its deltas, each new step record, then its end.
 */
async function* stepHere(
  ctx: AppContext,
  initial: AgentState,
  signal: AbortSignal,
  takeStep: TakeStep,
  /** A place already taken for the first step. */
  firstPlace?: () => void,
): AsyncGenerator<RunProgress> {
  const pending = new Pending<RunProgress>();
  let state = initial;
  let next = initial.steps.length;
  let taken = firstPlace;
  while (state.status === "running") {
    const release = taken ?? ctx.admission.enterOrRefuse();
    taken = undefined;
    const step = ctx.withStepDeadline(signal, (stepSignal) => {
      return takeStep(stepSignal, (event) => pending.push({ type: "delta", event }));
    }).finally(release);
    let done = false;
    step.then(() => done = true, () => done = true);
    while (!done && !signal.aborted) {
      await pending.wait(Infinity, signal, step);
      yield* pending.take();
    }
    state = await step;
    yield* pending.take();
    for (; next < state.steps.length; next++) yield { type: "step", index: next, step: state.steps[next] };
  }
  taken?.();
  yield { type: "end", state };
}

/** Items pushed by a callback, taken by a generator that waits for the next one (or a timeout, an abort, a promise). */
class Pending<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  take(): T[] {
    return this.#items.splice(0);
  }

  /** Resolves when an item is there, after `ms`, when `signal` aborts, or when `settled` settles. */
  wait(ms: number, signal: AbortSignal, settled?: Promise<unknown>): Promise<void> {
    if (this.#items.length || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      const onAbort = () => done();
      signal.addEventListener("abort", onAbort, { once: true });
      settled?.then(done, done);
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve();
      }
    }).finally(() => this.#wake = undefined);
  }
}
