import type { AgentEvent } from "../agents/agent_events.ts";
import type { MultiStepAgent, StepOptions } from "../agents/multi_step_agent.ts";
import { statusRefusal } from "../agents/step_refused.ts";
import { SmolstepError } from "../errors.ts";
import { type AgentState, packState, parseAgentState } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { StoredValue } from "../stores/state_store.ts";
import { utf8Length } from "../stores/store_limit_error.ts";

/**
 * A KV-mode run as the store holds it (one record per run, JSON), the errors of the run layer, and how a record is
 * encoded and read back. The run service (./run_service.ts) does the locking and the steps.
 */

/** What the store holds per run (JSON). */
export interface RunRecord {
  runId: string;
  agent: string;
  state: AgentState;
  /**
   * Idempotency key -> what the step produced (most recent last, bounded): its index in `state.steps`, or, for a
   * managed agent's step (which lives in the nested sub-run and goes away with it), a copy of the record; and which
   * agent took it (`manager/researcher`), and the run as the step left it (./idempotency.ts), so a replay answers as
   * the step did (the last two are absent in records of older servers).
   */
  idempotency: Array<[key: string, step: number | StepRecord | null, agent?: string, after?: RecordedAfter]>;
  lock: { id: string; expiresAt: number } | null;
  /**
   * Steps committed so far, managed agents' steps included (they do not add records to `state.steps`). Background
   * messages carry it, so each delivery can run at most the one step it was sent for.
   */
  seq: number;
  /** Stepped by the queue rather than by the caller. */
  background?: boolean;
  /** Where the final result is POSTed (signed) when the run ends. */
  callbackUrl?: string;
  /**
   * Epoch ms until which every blob this record refers to is kept (at least the record's own deadline); absent on
   * runs written before blobs expired. See ./run_lifecycle.ts.
   */
  blobsUntil?: number;
}

export type RunErrorCode =
  | "run_not_found"
  | "run_finished"
  | "step_in_progress"
  | "step_lost"
  | "not_awaiting_input"
  /** The new run's record (task, additional arguments, images) is over half of `maxRecordBytes`. */
  | "task_too_large"
  /** The step's new record is over `maxRecordBytes`: the step was discarded, the run is unchanged. */
  | "state_too_large"
  /** The store refused the write for lack of room (MemoryStore's `maxTotalBytes`). */
  | "store_full"
  /** A request following the run made its allowed reads (`events.maxReads`) before the run ended; it goes on. */
  | "follow_limit_reached";

/** Codes of a run that may go through later, unchanged: a step in flight, a lost commit, a full store. */
const RETRYABLE_RUN_CODES: ReadonlySet<RunErrorCode> = new Set([
  "step_in_progress",
  "step_lost",
  "store_full",
  "follow_limit_reached",
]);

export class RunError extends SmolstepError {
  override name = "RunError";
  declare readonly code: RunErrorCode;
  constructor(code: RunErrorCode, message: string) {
    super(message, { code, retryable: RETRYABLE_RUN_CODES.has(code) });
  }
}

/**
 * What a step's answer says of the run besides the step, as the step left it. Not copied, to keep the record small:
 * the final answer and the error (a run has them once it has ended, and an ended run changes no more, so the record's
 * own are that step's) and the pending input (a replay while the run still waits at that step shows the record's own;
 * once the pause was answered, none). Keys recorded by older servers have none of it; their replays show the run as
 * it is now.
 */
export type RecordedAfter = Pick<AgentState, "status" | "stepNumber" | "tokenUsage">;

/** The agent that steps a run, chosen from its record (it may throw, e.g. for an unknown agent: nothing is written). */
export type AgentForRun = (record: RunRecord) => MultiStepAgent;

/** What a step or an answer is given: its caller's signal, a hook before its lock, a listener for its deltas. */
export interface StepCallOptions {
  signal?: AbortSignal;
  /** Called once the run is found ready to step, just before its lock (nothing written yet; e.g. a watchdog). */
  beforeLock?: (record: RunRecord) => Promise<void>;
  /** Told the model's deltas as the step runs (a replayed step sends none). */
  onDelta?: StepOptions["onDelta"];
}

/** The part of a run's state a step's answer shows (the HTTP step body, besides the step itself). */
export type StepAnswerState = Pick<
  AgentState,
  "status" | "stepNumber" | "maxSteps" | "tokenUsage" | "finalAnswer" | "error" | "pendingInput"
>;

export interface StepOutcome {
  /** The run's record now (for a replay: the current one, which later steps may have moved on). */
  record: RunRecord;
  /** The run as this step left it: what its answer shows (a replay shows what the step showed). */
  after: StepAnswerState;
  /** The step record produced (or replayed); null when the step only applied a pending cancellation. */
  step: StepRecord | null;
  events: AgentEvent[];
  /** True when the idempotency key matched an earlier step and nothing ran. */
  replayed: boolean;
  /** Which agent took the step (`manager/researcher` for a managed agent's step); absent when nothing ran. */
  agent?: string;
}

/** A run record parsed from the store, with `stored` (its text as stored) for putting it back byte for byte. */
export function parseStored(stored: StoredValue): { record: RunRecord; version: string; stored: string } {
  const raw = JSON.parse(stored.value) as RunRecord;
  const record = { ...raw, seq: raw.seq ?? 0, state: parseAgentState(raw.state) };
  return { record, version: stored.version, stored: stored.value };
}

/** The record ended as `cancelled`, unlocked. */
export function cancelled(record: RunRecord): RunRecord {
  const state: AgentState = { ...record.state, status: "cancelled", pendingInput: undefined, updatedAt: Date.now() };
  return { ...record, state, lock: null };
}

/** How a new run is kept: in the background (queued steps), with a result callback, under a chosen id. */
export interface NewRunOptions {
  background?: boolean;
  callbackUrl?: string;
  runId?: string;
}

/** A run record as stored: JSON, with the state's task kept once. */
export function encodeRecord(record: RunRecord): string {
  return JSON.stringify({ ...record, state: packState(record.state) });
}

/**
 * A new run's record and its JSON. A new run may use at most half of `maxRecordBytes` (the rest is for its steps):
 * a larger one is refused with `task_too_large` before anything is written. Its id is a random UUID unless the
 * caller chose one (a random UUID it named before the run existed: MCP event ids, lib/mcp/server/mcp_event_ids.ts).
 */
export function newRunRecord(
  agent: string,
  state: AgentState,
  { runId = crypto.randomUUID(), ...options }: NewRunOptions & { blobsUntil: number },
  maxRecordBytes: number,
): { record: RunRecord; json: string } {
  const record: RunRecord = {
    runId,
    agent,
    state,
    idempotency: [],
    lock: null,
    seq: 0,
    ...options,
  };
  const json = encodeRecord(record);
  const bytes = utf8Length(json);
  const limit = Math.floor(maxRecordBytes / 2);
  if (bytes > limit) {
    throw new RunError(
      "task_too_large",
      `The new run's record (task, additional arguments and images) is ${bytes} bytes of JSON; this server takes ` +
        `at most ${limit} (half of a run's ${maxRecordBytes}-byte record, the rest is for its steps). ` +
        "Pass large inputs by URL or shorten them.",
    );
  }
  return { record, json };
}

/** Why a run in `status` cannot take a step that needs `expected`. */
export function statusMismatch(expected: "running" | "awaiting_input", status: string): RunError {
  const { code, message } = statusRefusal(expected, status);
  return new RunError(code, message);
}
