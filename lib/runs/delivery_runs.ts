import type { AgentState } from "../memory/agent_state.ts";
import type { StateStore } from "../stores/state_store.ts";
import { type DeliveryClaim, DeliveryClaims } from "../webhooks/delivery_claims.ts";
import { CallbackMarks } from "./callback_marks.ts";
import type { RunLifecycle } from "./run_lifecycle.ts";
import type { RunRecord } from "./run_record.ts";

/** A webhook delivery's background run, created at most once per delivery; the claims: lib/webhooks/delivery_claims.ts. */

export interface DeliveryRunOptions {
  /** What the sender signed: one run per key within `windowSeconds`. */
  replayKey: string;
  windowSeconds: number;
  callbackUrl?: string;
  /** Given the new record, e.g. to enqueue its first step. */
  start: (record: RunRecord) => Promise<void>;
}

/** The part of the run service a delivery's run needs. */
interface DeliveryRunService {
  readonly store: StateStore;
  readonly lockTtlMs: number;
  readonly lifecycle: RunLifecycle;
  create(agent: string, state: AgentState, options: { background?: boolean; callbackUrl?: string }): Promise<RunRecord>;
  fail(runId: string, error: { type: string; message: string }): Promise<RunRecord | null>;
  get(runId: string): Promise<{ record: RunRecord } | null>;
}

/**
 * Creates a background run for a webhook delivery, at most once per `replayKey` (what the sender signed) within
 * `windowSeconds` (lib/webhooks/delivery_claims.ts): a replay finds the run it started (`duplicate`; one created
 * by a process that died before starting it is started then), a delivery whose run another request is creating
 * right now `in_progress`, else `created`. `start` gets the new record (to enqueue its first step). If creating or
 * starting fails, the run is ended `failed` and the claim released, so the sender's retry starts afresh. Check the
 * run's size with `RunService.checkSize` first: a refused delivery leaves no claim.
 */
export async function createRunForDelivery(
  runs: DeliveryRunService,
  agent: string,
  state: AgentState,
  options: DeliveryRunOptions,
): Promise<{ status: "created"; record: RunRecord } | Exclude<DeliveryClaim, { status: "claimed" }>> {
  const claims = new DeliveryClaims(runs.store, { lockTtlMs: runs.lockTtlMs, windowSeconds: options.windowSeconds });
  const claim = await claims.claim(agent, options.replayKey);
  if (claim.status === "duplicate") await startIfNeverStarted(runs, claim.runId, options);
  if (claim.status !== "claimed") return claim;
  let runId: string | undefined;
  try {
    const record = await runs.create(agent, state, { background: true, callbackUrl: options.callbackUrl });
    runId = record.runId;
    await claim.complete(record.runId);
    await options.start(record);
    return { status: "created", record };
  } catch (error) {
    // Leave no run that nothing steps, and no claim that would answer the sender's retry as a duplicate. The run's
    // callback is settled unsent: the sender's retry starts the run that reports (a first step queued before the
    // failure finds the run ended at its `seq`, and would otherwise queue the callback, lib/runs/background_runner.ts).
    if (runId) await abandon(runs, runId).catch(() => {});
    await claim.release().catch(() => {});
    throw error;
  }
}

/** Ends the run `failed`, its callback settled unsent (unless something else ended it first: then it reports). */
async function abandon(runs: DeliveryRunService, runId: string): Promise<void> {
  const ended = await runs.fail(runId, { type: "WebhookError", message: ABANDONED });
  if (ended?.state.error?.message !== ABANDONED) return;
  await new CallbackMarks(runs.store, runs.lifecycle).settle(runId, ended.state);
}

const ABANDONED = "The run could not be started.";

/**
 * The run a delivery created is started again when a replay finds it never was: the process that created it died
 * between recording the claim and queueing its first step. Such a run is still at its first step, unlocked, older than
 * a lock (a started run's first step has committed, or its watchdog copy has taken it, by then). Queueing its first
 * step twice is harmless: a step message runs only at its run's `seq` (lib/runs/background_runner.ts).
 */
async function startIfNeverStarted(runs: DeliveryRunService, runId: string, options: DeliveryRunOptions) {
  const found = await runs.get(runId);
  if (found && neverStarted(found.record, runs.lockTtlMs)) await options.start(found.record);
}

/**
 * Whether `record` is a background run its creator never started (see `startIfNeverStarted`): still at its first
 * step, unlocked, older than a lock. Also for the runs of requests named for their retries (lib/http/run_to_answer.ts).
 */
export function neverStarted(record: RunRecord, lockTtlMs: number): boolean {
  const { state, seq, lock, background } = record;
  return Boolean(background) && state.status === "running" && seq === 0 && !lock &&
    Date.now() - state.createdAt > lockTtlMs;
}
