/**
 * The limits of one step as the interrupt handler applies them: a wall-clock deadline, the caller's abort signal,
 * and a count of QuickJS interrupt checks. The count matters where the clock stands still during synchronous
 * execution (Cloudflare Workers): there, only it can stop a tight loop. The deadline and the count start with the
 * code itself (`start()`), not with the sandbox's set-up, so a slow set-up (a loaded machine, large variables to
 * restore) never takes time from the code.
 */

export interface SessionLimits {
  timeLimitMs: number;
  memoryLimitBytes: number;
  maxStackBytes: number;
  maxOutputChars: number;
  /** Hard budget of interrupt checks; when undefined, only checks made while the clock stands still count. */
  maxInterruptChecks?: number;
}

/** Why the code was stopped: its final answer, the time limit, the CPU budget, or the caller's abort. */
export type StopReason = "final" | "time" | "checks" | "abort";

/**
 * Default CPU budget where the clock stands still: interrupt checks per millisecond of the time limit, counting
 * only checks at which `performance.now()` has not moved (on Workers: all of them; elsewhere: almost none).
 * About the rate of a tight loop with a small body on a current server core.
 */
export const STALLED_CHECKS_PER_MS = 4;
/**
 * Elements a native builtin visits in about the time a tight loop takes between two interrupt checks (a check
 * comes every 10,000 bytecode branches; a native element visit costs a few of them).
 */
export const NATIVE_ELEMENTS_PER_CHECK = 4_096;
/** Interrupt checks and time granted to reading results after the step stopped. */
const GRACE_CHECKS = 2_000;
const GRACE_MS = 2_000;

export class ExecutionBudget {
  stop?: StopReason;
  #deadline: number;
  #checks = 0;
  #stalledChecks = 0;
  #lastCheckAt = -1;
  #maxChecks: number;
  #maxStalledChecks: number;

  /**
   * `stopRequested`: a stop asked from elsewhere (another thread), read at every check like the signal. Until
   * `start()`, only the signal and stop requests end the step: there is no deadline yet.
   */
  constructor(readonly limits: SessionLimits, readonly signal?: AbortSignal, readonly stopRequested?: () => boolean) {
    this.#deadline = Infinity;
    this.#maxChecks = this.#maxStalledChecks = Infinity;
  }

  /** The code starts now: the time limit and the CPU budget count from here. */
  start(): void {
    const { limits } = this;
    this.#checks = this.#stalledChecks = 0;
    this.#deadline = Date.now() + limits.timeLimitMs;
    this.#maxChecks = limits.maxInterruptChecks ?? Infinity;
    this.#maxStalledChecks = limits.maxInterruptChecks ?? limits.timeLimitMs * STALLED_CHECKS_PER_MS;
  }

  /**
   * The interrupt handler: true stops the code (and keeps stopping it until `grace()`). `weight` counts native
   * work the sandbox reports (`chargeNative`) as that many checks.
   */
  check(weight = 1): boolean {
    if (this.stop) return true;
    const at = performance.now();
    if (at === this.#lastCheckAt) this.#stalledChecks += weight;
    this.#lastCheckAt = at;
    if (this.signal?.aborted || this.stopRequested?.()) this.stop = "abort";
    else if ((this.#checks += weight) > this.#maxChecks || this.#stalledChecks > this.#maxStalledChecks) {
      this.stop = "checks";
    } else if (Date.now() > this.#deadline) this.stop = "time";
    return this.stop !== undefined;
  }

  /**
   * Native work reported by the sandbox's bounded builtins (elements visited, which no interrupt check saw): counted
   * as checks at NATIVE_ELEMENTS_PER_CHECK, then the limits are checked at once; true when the step must end.
   */
  chargeNative(elements: number): boolean {
    return this.check(Math.max(0, elements) / NATIVE_ELEMENTS_PER_CHECK);
  }

  /** Checks the clock and the signal while the host waits; true when the step must end. */
  expired(): boolean {
    if (this.signal?.aborted || this.stopRequested?.()) this.stop ??= "abort";
    else if (Date.now() > this.#deadline) this.stop ??= "time";
    return this.stop !== undefined;
  }

  /** Milliseconds left before the deadline (at least 0). */
  remainingMs(): number {
    return Math.max(0, this.#deadline - Date.now() + 1);
  }

  /** Lifts the stop and grants a short fresh budget to read results; returns why the code stopped. */
  grace(): StopReason | undefined {
    const stop = this.stop;
    this.stop = undefined;
    this.#checks = this.#stalledChecks = 0;
    this.#maxChecks = this.#maxStalledChecks = GRACE_CHECKS;
    this.#deadline = Date.now() + GRACE_MS;
    return stop;
  }
}
