import type { AgentState } from "../memory/agent_state.ts";

/**
 * How long a KV-mode run lives, as a pure function of its state: every key of a run expires through the store's
 * `expireIn`, so nothing has to sweep.
 *
 * - A finished run (`succeeded`, `failed`, `cancelled`, `max_steps_error`, `expired`) is kept `runTtlSeconds`
 *   after its last change (`state.updatedAt`), then the store drops it.
 * - An active run (`running`, `awaiting_input`) that nobody steps, cancels or answers for `idleRunTtlSeconds`
 *   is abandoned: it reads as status `expired` and refuses further steps (409 `run_finished`). We end it rather
 *   than keep it resumable: by then the client that drove it has gone (or the queue lost its message), a
 *   callback would arrive days late, and the model, tools and prices it ran with may have changed; a caller who
 *   still wants the answer starts a new run. `expired` is computed on read, never written, so nothing has to
 *   find abandoned runs: the store drops the record `runTtlSeconds` after it started reading as `expired`
 *   (`idleRunTtlSeconds + runTtlSeconds` after its last change), like any other finished run.
 *
 * Because the deadline depends only on the state, writes that leave the state alone (a step's lock and its
 * release) keep the same deadline, and a run that is stepped again moves it. A run's lock (`lockTtlMs`) is
 * minutes; nothing else keeps a run `running`, so every run ends within `idleRunTtlSeconds` of its last step.
 *
 * Blobs. A run's blobs live under its own key prefix (see ./run_blobs.ts) and expire at `record.blobsUntil`, which
 * is kept at least as late as the record's deadline: it starts {@link RunLifecycle.blobSeconds} ahead (twice the
 * longest a record can be kept after a write) and is pushed out again, rewriting the blobs, only when a run stays
 * active that long. Blobs under the shared prefix are kept {@link RunLifecycle.sharedBlobSeconds}.
 */

/** Default `runTtlSeconds`: a week, the same as a stateless token's default lifetime (`stateTtlSeconds`). */
export const DEFAULT_RUN_TTL_SECONDS = 7 * 24 * 3600;
/**
 * Default `idleRunTtlSeconds`: a week. Long enough for a human approval over a long weekend, and the same point
 * at which a stateless run's token expires (`stateTtlSeconds`), so both modes give up on an idle run together.
 */
export const DEFAULT_IDLE_RUN_TTL_SECONDS = 7 * 24 * 3600;

/** Default `stateTtlSeconds`: a stateless token's lifetime, a week. */
export const DEFAULT_STATE_TTL_SECONDS = 7 * 24 * 3600;

export interface RunLifecycleOptions {
  /** Seconds a finished run (and its blobs, cancel flag and idempotency data) is kept; default 7 days. */
  runTtlSeconds?: number;
  /** Seconds an active run may go without a step before it reads as `expired`; default 7 days. */
  idleRunTtlSeconds?: number;
  /** Lifetime of stateless tokens, whose blobs live under the shared prefix (default 7 days). */
  stateTtlSeconds?: number;
}

const ACTIVE = new Set(["running", "awaiting_input"]);

export class RunLifecycle {
  readonly runTtlSeconds: number;
  readonly idleRunTtlSeconds: number;
  readonly stateTtlSeconds: number;

  constructor(options: RunLifecycleOptions = {}) {
    this.stateTtlSeconds = positive("stateTtlSeconds", options.stateTtlSeconds ?? DEFAULT_STATE_TTL_SECONDS);
    this.runTtlSeconds = positive("runTtlSeconds", options.runTtlSeconds ?? DEFAULT_RUN_TTL_SECONDS);
    this.idleRunTtlSeconds = positive("idleRunTtlSeconds", options.idleRunTtlSeconds ?? DEFAULT_IDLE_RUN_TTL_SECONDS);
  }

  /**
   * Epoch ms after which the store may drop a run in this state. A state read as `expired` is an active one as
   * stored, kept as long: the keys written beside it (its callback marks) must not go before it.
   */
  deadline(state: AgentState): number {
    const active = ACTIVE.has(state.status) || state.status === "expired";
    const keep = active ? this.idleRunTtlSeconds + this.runTtlSeconds : this.runTtlSeconds;
    return state.updatedAt + keep * 1000;
  }

  /**
   * `expireIn` (seconds, to the millisecond, at least 1) for writing a run in this state, or a key that must go
   * with it. At least 1 so a write at the deadline is not refused; the store drops it right after.
   */
  expireIn(state: AgentState, now: number = Date.now()): number {
    return Math.max(1, Math.ceil(this.deadline(state) - now) / 1000);
  }

  /** True for an active run idle past `idleRunTtlSeconds` with no step in flight: it reads as `expired`. */
  isAbandoned(state: AgentState, lock: { expiresAt: number } | null, now: number = Date.now()): boolean {
    if (!ACTIVE.has(state.status) || (lock && lock.expiresAt > now)) return false;
    return now >= state.updatedAt + this.idleRunTtlSeconds * 1000;
  }

  /** How far ahead a run's blobs are kept when (re)written: twice the longest a record is kept after a write. */
  get blobSeconds(): number {
    return 2 * (this.idleRunTtlSeconds + this.runTtlSeconds);
  }

  /**
   * How far ahead a blob under the shared prefix (`blobs/`: stateless runs', and those older servers left) is kept
   * when (re)written: twice a token's life, and never less than a run's blobs, so that any rewrite only pushes its
   * expiry out. A stateless token records how long its blobs are kept (`blobsUntil`); the step that would seal a
   * token outliving that rewrites them first (lib/http/stateless_steps.ts).
   */
  get sharedBlobSeconds(): number {
    return Math.max(this.blobSeconds, 2 * this.stateTtlSeconds);
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of seconds.`);
  return value;
}
