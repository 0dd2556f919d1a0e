/**
 * Stopping a process's steps (`Smolstep.shutdown`). Every step of an app (HTTP, stateless, OpenAI-compatible, MCP,
 * background) runs under a step deadline (./step_deadline.ts) registered here. A shutdown lets the steps in flight
 * finish for a grace period, then aborts those still running with a `ShuttingDownError`, through the same signal a
 * client that went away or the step's deadline would abort: each one gives its run back unchanged (its lock or its
 * token's claim released) and ends. A step that starts after that is aborted before it reads anything.
 *
 * Registered steps are kept in a set of abort callbacks, not as listeners on one shared signal: a process with
 * many steps in flight would otherwise pile listeners on one `AbortSignal` (Node warns past ten).
 */

import { SmolstepError } from "../errors.ts";

/** The server is stopping: the step was abandoned with its run (or token) unchanged; retry it on a server that runs. */
export class ShuttingDownError extends SmolstepError {
  override name = "ShuttingDownError";
  constructor() {
    super("The server is shutting down; the step was abandoned.", { code: "shutting_down", retryable: true });
  }
}

/** The steps of one app, to be aborted at once when it stops. */
export class StepShutdown {
  readonly #steps = new Set<(reason: ShuttingDownError) => void>();
  /** Told when the steps are aborted, not counted in flight: requests that follow a run stepped elsewhere. */
  readonly #watchers = new Set<(reason: ShuttingDownError) => void>();
  #reason: ShuttingDownError | undefined;
  /** Woken each time the last step in flight ends. */
  #idle: (() => void)[] = [];

  /** Throws `ShuttingDownError` once the steps have been aborted: for work this process could only start, not do. */
  throwIfStopped(): void {
    if (this.#reason) throw this.#reason;
  }

  /** Steps registered and not yet ended. */
  get inFlight(): number {
    return this.#steps.size;
  }

  /**
   * Registers a step; `abort` is called with the reason when the shutdown aborts it (at once if it already has).
   * Call the returned function when the step has ended, whatever the outcome (its run given back or committed).
   */
  enter(abort: (reason: ShuttingDownError) => void): () => void {
    const entry = (reason: ShuttingDownError) => abort(reason);
    this.#steps.add(entry);
    if (this.#reason) abort(this.#reason);
    return () => {
      if (!this.#steps.delete(entry) || this.#steps.size > 0) return;
      for (const wake of this.#idle.splice(0)) wake();
    };
  }

  /**
   * Calls `stop` when the steps are aborted (at once if they have been), without counting as a step in flight: for a
   * request that only follows a run whose step this process gives up. Call the returned function when done.
   */
  onStop(stop: (reason: ShuttingDownError) => void): () => void {
    const entry = (reason: ShuttingDownError) => stop(reason);
    if (this.#reason) stop(this.#reason);
    else this.#watchers.add(entry);
    return () => void this.#watchers.delete(entry);
  }

  /**
   * Lets the steps in flight finish for at most `graceMs`, then aborts those still running (and every step that
   * starts from then on). Resolves once no step is in flight: each aborted step has given its run back. A step
   * that ignores its signal keeps this pending, so bound the wait (`functions/deno.ts` gives it 2 s).
   */
  async shutdown(graceMs = 0): Promise<void> {
    if (!this.#reason && graceMs > 0 && this.#steps.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#whenIdle(), new Promise((resolve) => timer = setTimeout(resolve, graceMs))]);
      clearTimeout(timer);
    }
    if (!this.#reason) {
      this.#reason = new ShuttingDownError();
      for (const abort of [...this.#steps]) abort(this.#reason);
      for (const stop of this.#watchers) stop(this.#reason);
      this.#watchers.clear();
    }
    await this.#whenIdle();
  }

  #whenIdle(): Promise<void> {
    if (this.#steps.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
