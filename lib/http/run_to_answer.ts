/**
 * "Run an agent to its final answer from one request", for the endpoints that answer with the whole run (the
 * OpenAI-compatible `POST /v1/chat/completions`, and any other that needs it): `startRunToAnswer` creates a KV run
 * and returns its id at once, with `progress`, the run's model deltas and step records as they happen, ending with
 * its final state.
 *
 * Each step is a KV step like any other (lock, idempotency key, the run unchanged by a failed step). How the steps
 * are taken depends on the app:
 *
 * - With a queue (`background`): the run is a background run; the request only follows it: it reads the record
 *   every `events.pollMs` (500 ms by default; up to 4 times slower while a step runs and no deltas are heard, since
 *   each read is a store round trip, a subrequest on Workers; 50 ms after a step's deltas go quiet) and hears the run's deltas through
 *   `AppOptions.deltas`, like `GET /v1/runs/{id}/events`. A caller that goes away leaves the run going to its end.
 *   On Workers the steps run in queue invocations, so no request meets the subrequest or CPU limits of many steps;
 *   the deltas arrive through the run's Durable Object (`DurableObjectDeltaRelay`), else the progress is the step
 *   records alone.
 * - Without a queue (`inline`): the request steps the run itself, one `RunService.step` after another (each counted
 *   as a step in flight), with the model's deltas. A caller that goes away abandons the step in flight: the run
 *   stays `running` at its last committed step (continue it with `POST /v1/runs/{id}/steps`).
 *
 * A run that pauses for input (`awaiting_input`) ends the progress too: nobody in the request can answer it.
 */
import type { DeltaEvent } from "../agents/agent_events.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import { RunError, type RunRecord } from "../runs/run_record.ts";
import type { AppContext } from "./app_context.ts";

/** What a request may ask of the run: the same fields as `POST /v1/agents/{name}/runs`. */
export interface RunToAnswerInput {
  agent: string;
  task: string;
  additionalArgs?: Record<string, unknown>;
  images?: string[];
  maxSteps?: number;
}

/** A followed run is read every `events.pollMs`, up to this many times slower while nothing changes. */
const MAX_POLL_BACKOFF = 4;

/** How long after a followed step's last delta the run is read again (its commit is then close). */
const DELTA_QUIET_MS = 50;

/** One piece of a run's progress; the last one is always `end`. */
export type RunProgress =
  | { type: "delta"; event: DeltaEvent }
  | { type: "step"; index: number; step: StepRecord }
  | { type: "end"; state: AgentState };

export interface RunToAnswer {
  runId: string;
  mode: "background" | "inline";
  /** Iterate once. Throws what a failed inline step throws (the run stays at its previous step). */
  progress: AsyncIterable<RunProgress>;
}

/**
 * Creates the run (errors such as `agent_not_found`, `store_not_configured`, `task_too_large` are thrown here,
 * before anything is written) and returns its progress; `signal` is the caller's (its request's).
 */
export async function startRunToAnswer(
  ctx: AppContext,
  input: RunToAnswerInput,
  signal: AbortSignal,
): Promise<RunToAnswer> {
  const agent = ctx.agent(input.agent);
  const runs = ctx.requireRuns();
  for (const image of input.images ?? []) if (!image.startsWith("data:")) ctx.requireAllowedUrl("images", image);
  const state = agent.start(input.task, {
    maxSteps: input.maxSteps,
    additionalArgs: input.additionalArgs,
    images: input.images,
  });
  const background = ctx.background;
  const record = await runs.create(input.agent, state, { background: Boolean(background) });
  if (background) {
    await background.start(record);
    return { runId: record.runId, mode: "background", progress: followRun(ctx, record, signal) };
  }
  return { runId: record.runId, mode: "inline", progress: stepRun(ctx, record, signal) };
}

/** Follows a background run: the deltas heard, each new step record, then its end (or its pause). */
async function* followRun(ctx: AppContext, created: RunRecord, signal: AbortSignal): AsyncGenerator<RunProgress> {
  const runs = ctx.requireRuns();
  const pollMs = ctx.options.events?.pollMs ?? 500;
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
      if (!found) throw new Error(`The run ${created.runId} is gone.`);
      const { state } = found.record;
      // Each read is a store round trip (a subrequest on Workers): reads slow down, to 4 polls' time, while
      // nothing changes, and speed up again with the next step.
      waitMs = next < state.steps.length ? pollMs : Math.min(waitMs * 2, pollMs * MAX_POLL_BACKOFF);
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

/** Steps a run in this request until it is no longer `running`: its deltas, each new step record, then its end. */
async function* stepRun(ctx: AppContext, created: RunRecord, signal: AbortSignal): AsyncGenerator<RunProgress> {
  const runs = ctx.requireRuns();
  const pending = new Pending<RunProgress>();
  let record = created;
  let next = created.state.steps.length;
  while (record.state.status === "running") {
    const release = ctx.admission.enter();
    const step = runs.step(record.runId, (found) => ctx.agent(found.agent), {
      idempotencyKey: `answer:${record.seq}`,
      signal,
      onDelta: (event) => pending.push({ type: "delta", event }),
    }).finally(release);
    let done = false;
    step.then(() => done = true, () => done = true);
    while (!done && !signal.aborted) {
      await pending.wait(Infinity, signal, step);
      yield* pending.take();
    }
    try {
      ({ record } = await step);
    } catch (error) {
      // Ended meanwhile by someone else (cancelled through its route, say): that end is the run's end.
      const ended = error instanceof RunError && error.code === "run_finished" && await runs.get(record.runId);
      if (!ended) throw error;
      record = ended.record;
    }
    yield* pending.take();
    const { state } = record;
    for (; next < state.steps.length; next++) yield { type: "step", index: next, step: state.steps[next] };
  }
  yield { type: "end", state: record.state };
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
