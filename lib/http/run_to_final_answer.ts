import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { AppContext } from "./app_context.ts";
import { HttpError } from "./http_errors.ts";

/** A run asked for in one request: the agent's route name, its task and the task's extras. */
export interface AnswerRequest {
  agent: string;
  task: string;
  additionalArgs?: Record<string, unknown>;
  /** `data:` or https: image URLs, as `POST /v1/agents/{name}/runs` takes them. */
  images?: string[];
}

export interface RunToAnswerOptions {
  /** The caller's signal: when it aborts, the run is left (a KV run is cancelled) and the call throws its reason. */
  signal: AbortSignal;
  /** Told the run's id once it is stored, before its first step (not called for a run without a store). */
  onStart?: (runId: string) => void | Promise<void>;
  /** Told every step record once it is committed, in order. */
  onStep?: (step: StepRecord, state: AgentState) => void | Promise<void>;
}

/** Where the run went: its id where the app keeps runs, its state, and where its blobs (media answers) are. */
export interface AnswerRun {
  runId?: string;
  agent: string;
  state: AgentState;
  blobs?: BlobStorage;
  /** How it was run: `background` (queue), `kv` (stepped in this request, kept in the store), `memory` (no store). */
  mode: "background" | "kv" | "memory";
}

const ACTIVE = new Set(["running"]);
/** The longest wait between two reads of a background run that has not moved. */
const MAX_POLL_MS = 5_000;

/**
 * Runs an agent from one request until the run stops stepping: a final answer, a failure (a step that throws ends
 * the run `failed`, its error in `state.error`), a cancellation, or a pause for input (`awaiting_input`, returned as
 * is). It throws only when the caller's signal aborts (a KV run is then cancelled) or the run cannot start. Where the app has a store and a queue the run is a background
 * run (each step a queue message, so no request holds a step beyond its platform's limits) and this call follows its
 * record in the store, like `GET /v1/runs/{id}/events`; with a store alone it steps the KV run here, one deadline per
 * step; without a store it steps in memory. Shared by the request-shaped front ends (MCP `tools/call`).
 */
export async function runToFinalAnswer(
  ctx: AppContext,
  request: AnswerRequest,
  options: RunToAnswerOptions,
): Promise<AnswerRun> {
  const agent = ctx.agent(request.agent);
  for (const image of request.images ?? []) if (!image.startsWith("data:")) ctx.requireAllowedUrl("images", image);
  const state = agent.start(request.task, { additionalArgs: request.additionalArgs, images: request.images });
  if (ctx.background) return await followBackgroundRun(ctx, request.agent, state, options);
  if (ctx.runs) return await stepKvRun(ctx, request.agent, agent, state, options);
  // No store: the run lives in this request only; a step that throws ends it failed.
  let latest = state;
  const ended = await stepHere(ctx, state, options, async (current, signal) => {
    const result = await agent.step(current, { signal });
    latest = result.state;
    return result;
  }).catch((error) => {
    if (options.signal.aborted) throw error;
    return { ...latest, status: "failed" as const, error: failure(error), updatedAt: Date.now() };
  });
  return { agent: request.agent, state: ended, mode: "memory" };
}

async function followBackgroundRun(
  ctx: AppContext,
  name: string,
  state: AgentState,
  options: RunToAnswerOptions,
): Promise<AnswerRun> {
  const runs = ctx.requireRuns();
  const record = await runs.create(name, state, { background: true });
  await ctx.requireBackground().start(record);
  await options.onStart?.(record.runId);
  const pollMs = ctx.options.events?.pollMs ?? 500;
  let waitMs = pollMs;
  let seen = 1; // the task record
  let current = state;
  try {
    while (ACTIVE.has(current.status)) {
      await sleep(waitMs, options.signal);
      const found = await runs.get(record.runId);
      if (!found) throw new HttpError(404, "run_not_found", `The run '${record.runId}' is gone.`);
      current = found.record.state;
      // A run that moves is read every `pollMs`; one that waits (a slow model) less and less often, so a long run
      // costs a Worker's request few store reads (subrequests).
      waitMs = seen < current.steps.length ? pollMs : Math.min(waitMs * 1.5, Math.max(pollMs, MAX_POLL_MS));
      for (; seen < current.steps.length; seen++) await options.onStep?.(current.steps[seen], current);
    }
  } catch (error) {
    if (options.signal.aborted) await runs.cancel(record.runId).catch(() => {});
    throw error;
  }
  return { runId: record.runId, agent: name, state: current, blobs: runs.blobsFor(record.runId), mode: "background" };
}

async function stepKvRun(
  ctx: AppContext,
  name: string,
  agent: MultiStepAgent,
  state: AgentState,
  options: RunToAnswerOptions,
): Promise<AnswerRun> {
  const runs = ctx.requireRuns();
  const { runId } = await runs.create(name, state);
  await options.onStart?.(runId);
  let ended: AgentState;
  try {
    ended = await stepHere(ctx, state, options, async (_current, signal) => {
      const outcome = await runs.step(runId, agent, { signal });
      return { state: outcome.record.state, step: outcome.step };
    });
  } catch (error) {
    if (options.signal.aborted) {
      await runs.cancel(runId).catch(() => {});
      throw error;
    }
    // Nobody will step this run again: it ends failed with the step's error (as a background run would).
    const failed = await runs.fail(runId, failure(error)).catch(() => null);
    if (!failed) throw error;
    ended = failed.state;
  }
  return { runId, agent: name, state: ended, blobs: runs.blobsFor(runId), mode: "kv" };
}

/** Steps in this request while the run runs: each step within admission and its own deadline. */
async function stepHere(
  ctx: AppContext,
  state: AgentState,
  options: RunToAnswerOptions,
  step: (current: AgentState, signal: AbortSignal) => Promise<{ state: AgentState; step: StepRecord | null }>,
): Promise<AgentState> {
  let current = state;
  while (ACTIVE.has(current.status)) {
    const release = ctx.admission.tryEnter();
    if (!release) throw new HttpError(503, "overloaded", "This server is running its maximum of steps; retry later.");
    try {
      const result = await ctx.withStepDeadline(options.signal, (signal) => step(current, signal));
      current = result.state;
      if (result.step) await options.onStep?.(result.step, current);
    } finally {
      release();
    }
  }
  return current;
}

function failure(error: unknown): { type: string; message: string } {
  return error instanceof Error
    ? { type: error.name, message: error.message }
    : { type: "Error", message: String(error) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    };
    const abort = () => {
      done();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}
