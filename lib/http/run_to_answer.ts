/**
 * "Run an agent to its final answer from one request", for the front ends that answer with a whole run (the
 * OpenAI-compatible `POST /v1/chat/completions`, MCP `tools/call`): `startRunToAnswer` starts the run and returns its
 * id at once, with `progress`, the run's model deltas and step records as they happen, ending with its final state.
 *
 * How the steps are taken depends on the app:
 *
 * - Store and queue (`background`): the run is a background run; the request only follows it with the follower
 *   of `GET /v1/runs/{id}/events` (`followRun`, lib/runs/run_follower.ts): it hears the run's deltas through
 *   `AppOptions.deltas` and reads the record every `events.pollMs` (500 ms by default), 50 ms after a step's deltas
 *   go quiet (its commit is then close), and less and less often while nothing changes (each read is a store round
 *   trip, a subrequest on Workers), to 10 polls' time, at most 5 s. A background run that fails ends `failed` (the
 *   background runner ends it); one that is gone (deleted meanwhile) makes `progress` throw `run_not_found`, and
 *   one still going when the request has read it `events.maxReads` times, `follow_limit_reached` (the run goes on;
 *   each front end ends its request as its protocol lets the client go on). When
 *   the app stops (`Smolstep.shutdown`), `progress` throws `ShuttingDownError` as its steps are aborted: the run
 *   goes on in the next process, and the caller is answered (503 `shutting_down`) rather than cut off at exit.
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
 * its last committed step) or `cancel` it (`RunService.cancel`). The OpenAI endpoint leaves; MCP cancels, unless the
 * call can come back for its run (resumable, or named by an idempotency key).
 *
 * Which mode each runtime's entry gets: `functions/deno.ts` (Deno KV and its queue) `background`;
 * `functions/worker.ts` `background` with the `STEPS` queue (and a `STATE` or `RUNS` store; the deltas then go
 * through the run's Durable Object, `DurableObjectDeltaRelay`, else the progress is the step records alone), `kv`
 * with a store and no queue (every step then inside the request's subrequest and CPU limits), and without a store
 * `memory` for MCP (the OpenAI endpoint answers 501 `store_not_configured`).
 */
import type { DeltaEvent } from "../agents/agent_events.ts";
import type { AgentState } from "../memory/agent_state.ts";
import { sleep } from "../models/retry.ts";
import { PendingItems } from "../runs/pending_items.ts";
import { followRun, type RunFollowItem } from "../runs/run_follower.ts";
import { RunError, type RunRecord } from "../runs/run_record.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { AppContext } from "./app_context.ts";
import { neverStarted } from "../runs/delivery_runs.ts";
import { abandonStart, claimRequest, keyReused, requestInProgress, type RequestReplay } from "./request_replay.ts";

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
  /**
   * What names this request for a retry of it (the caller's `Idempotency-Key` and what the request asks, see
   * lib/http/openai_routes.ts, or an MCP call's key, lib/mcp/server/mcp_idempotency.ts): a request named as one seen
   * within a day (./request_replay.ts) answers from the run that one started (following it, or stepping it on from
   * where it is) instead of starting another; the key first used for another request is refused (422
   * `idempotency_key_reused`); one whose run is being created right now is 409 `request_in_progress` (retryable).
   * Only with a store.
   */
  replay?: RequestReplay;
  /** Reads of the store this request made before (they count against `events.maxReads`). */
  readsSpent?: number;
  /**
   * The new run's id, chosen by the caller (a random UUID) before the run exists: MCP names it in its SSE event ids
   * before the run is created (lib/mcp/server/mcp_event_ids.ts). Only with a store.
   */
  runId?: string;
}

/** One piece of a run's progress; the last one is `end` (unless the caller went away or a step threw). */
export type RunProgress =
  | Exclude<RunFollowItem, { type: "status" }> // { type: "delta", event } | { type: "step", index, step }
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
/** How often a step waits for another step of its run to end. */
const STEP_IN_PROGRESS_POLL_MS = 100;
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
  options: RunToAnswerOptions,
): Promise<RunToAnswer> {
  const { signal, onAbort, withoutStore = "refuse", replay, runId: chosenId } = options;
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
  // A stopping server starts no run it could not step or follow (the client's retry reaches one that runs).
  ctx.shutdown.throwIfStopped();
  const claim = replay ? await claimRequest(runs, input.agent, replay) : undefined;
  if (claim?.status === "in_progress") throw requestInProgress();
  // The key's lookups are some of the request's reads (`events.maxReads`).
  const claimReads = (claim?.reads ?? 0) + (options.readsSpent ?? 0);
  if (claim?.status === "duplicate") {
    if (claim.otherRequest) throw keyReused();
    return await answerFromRun(ctx, claim.runId, signal, onAbort, claimReads);
  }
  const background = ctx.background;
  let firstPlace: (() => void) | undefined;
  let record: RunRecord | undefined;
  try {
    // Stepped here (`kv`): the first step's place is taken before the run is written, so a full server refuses
    // (503 `overloaded`, safe to retry: the key's claim is released below) and leaves no run behind; the first step
    // takes the place over.
    firstPlace = background ? undefined : ctx.admission.enterOrRefuse();
    record = await runs.create(input.agent, state, { background: Boolean(background), runId: chosenId });
    if (claim?.status === "claimed") await claim.complete(record.runId);
    if (background) await background.start(record);
  } catch (error) {
    firstPlace?.();
    // Neither a run that nothing steps nor a key naming one: a retry of the request starts it afresh.
    await abandonStart(runs, claim, record?.runId);
    throw error;
  }
  const progress = firstPlace
    ? stepRun(ctx, record, signal, firstPlace)
    : followInBackground(ctx, record, signal, claimReads);
  const { runId } = record;
  return {
    runId,
    mode: background ? "background" : "kv",
    blobs: runs.blobsFor(runId),
    progress: onAbort === "cancel" ? cancelledOnAbort(progress, signal, () => runs.cancel(runId)) : progress,
  };
}

/**
 * A retried request's answer: from the run the first one started, followed (background) or stepped on from where it
 * is (`kv`: the first request's steps stopped when it went away), or its end at once if it has ended.
 */
async function answerFromRun(
  ctx: AppContext,
  runId: string,
  signal: AbortSignal,
  onAbort: RunToAnswerOptions["onAbort"],
  readsSpent: number,
): Promise<StoredRunToAnswer> {
  const runs = ctx.requireRuns();
  const found = await runs.get(runId);
  if (!found) {
    throw new RunError("run_not_found", `The run this request started ('${runId}') is gone (deleted, or expired).`);
  }
  // The first request's process went between naming the run and queueing its first step: it is queued now.
  if (ctx.background && neverStarted(found.record, runs.lockTtlMs)) await ctx.background.start(found.record);
  return continueRunToAnswer(ctx, found.record, { signal, onAbort, readsSpent: readsSpent + 1 });
}

/**
 * The answer of a run already stored, from where `record` is: followed (background) or stepped on (`kv`), its end at
 * once if it has ended. `progress` yields the steps after `record`'s. For a retried request (above) and a resumed
 * MCP tool call (lib/mcp/server/mcp_resume.ts).
 */
export function continueRunToAnswer(
  ctx: AppContext,
  record: RunRecord,
  { signal, onAbort, readsSpent = 1 }: Pick<RunToAnswerOptions, "signal" | "onAbort"> & {
    /** Reads of the run this request made to find `record`: they count against `events.maxReads`. */
    readsSpent?: number;
  },
): StoredRunToAnswer {
  const runs = ctx.requireRuns();
  const { runId } = record;
  // A place among the steps in flight only for a run stepped here: an ended run's answer is given under any load.
  const stepped = !record.background && record.state.status === "running";
  const progress = record.background
    ? followInBackground(ctx, record, signal, readsSpent)
    : stepRun(ctx, record, signal, stepped ? ctx.admission.enterOrRefuse() : () => {});
  return {
    runId,
    mode: record.background ? "background" : "kv",
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

/** Follows a background run (`followRun`): the deltas heard, each new step record, then its end (or its pause). */
async function* followInBackground(
  ctx: AppContext,
  created: RunRecord,
  signal: AbortSignal,
  readsSpent = 0,
): AsyncGenerator<RunProgress> {
  const pollMs = ctx.options.events?.pollMs ?? 500;
  const maxReads = ctx.options.events?.maxReads;
  // A stopping app gives its background steps up (they go on in the next process): the follow ends with why.
  const stopped = new AbortController();
  const unwatch = ctx.shutdown.onStop((reason) => stopped.abort(reason));
  const follow = followRun(ctx.requireRuns(), created.runId, {
    signal: AbortSignal.any([signal, stopped.signal]),
    deltas: ctx.deltas,
    fromIndex: created.state.steps.length,
    afterStepNumber: created.state.stepNumber,
    pollMs,
    slowestPollMs: Math.min(pollMs * MAX_POLL_BACKOFF, Math.max(pollMs, MAX_POLL_MS)),
    quietMs: DELTA_QUIET_MS,
    maxReads: maxReads === undefined ? undefined : Math.max(1, maxReads - readsSpent),
  });
  try {
    for await (const item of follow) {
      if (item.type !== "status") {
        yield item;
      } else if (item.state.status !== "running") {
        yield { type: "end", state: item.state };
        return;
      }
    }
  } finally {
    unwatch();
  }
  if (stopped.signal.aborted && !signal.aborted) throw stopped.signal.reason;
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
    for (;;) {
      try {
        ({ record } = await runs.step(record.runId, (found) => ctx.agent(found.agent), {
          idempotencyKey: `answer:${record.seq}`,
          signal: stepSignal,
          onDelta,
        }));
        return record.state;
      } catch (error) {
        // A step of the run is in flight elsewhere (a retried request's first attempt letting go of it): wait for
        // it, within this step's deadline. The key then replays the step it took, if it took this one.
        if (error instanceof RunError && error.code === "step_in_progress") {
          await sleep(STEP_IN_PROGRESS_POLL_MS, stepSignal);
          continue;
        }
        // Ended meanwhile by someone else (cancelled through its route, say): that end is the run's end.
        const ended = error instanceof RunError && error.code === "run_finished" && await runs.get(record.runId);
        if (!ended) throw error;
        record = ended.record;
        return record.state;
      }
    }
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
  const pending = new PendingItems<RunProgress>();
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
