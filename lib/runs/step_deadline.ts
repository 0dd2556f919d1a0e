/**
 * A step's deadline. A step runs under one signal that aborts when the caller goes away (the HTTP client closed the
 * request) or when the step has used its time (`stepTimeoutMs`), whichever comes first. The step time is shorter
 * than the run's lock, so a step that honours its signal (the model call, its retries and their waits, tools) always
 * ends while its lock is still held; a late commit is still refused by the store's compare-and-set.
 *
 * The reasons are distinct so callers can tell them apart: the deadline aborts with a `StepTimeoutError`, the caller
 * with an `AbortError` DOMException, a stopping server (`StepShutdown`, ./step_shutdown.ts) with a
 * `ShuttingDownError`.
 */

import { SmolstepError } from "../errors.ts";
import { ShuttingDownError, type StepShutdown } from "./step_shutdown.ts";

/** How long a run's lock lasts unless `lockTtlMs` says otherwise: 5 minutes. */
export const DEFAULT_LOCK_TTL_MS = 5 * 60_000;

/** Part of the lock a step may use: the rest is the margin for the commit after it (see `defaultStepTimeoutMs`). */
const STEP_SHARE_OF_LOCK = 0.9;

/** A step passed its deadline; nothing was kept, and the step can be retried. */
export class StepTimeoutError extends SmolstepError {
  override name = "StepTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`The step did not finish within its ${timeoutMs} ms deadline.`, { code: "step_timeout", retryable: true });
  }
}

/** The default step time for a lock: 90% of it, leaving the rest for the commit that follows. */
export function defaultStepTimeoutMs(lockTtlMs: number): number {
  return Math.floor(lockTtlMs * STEP_SHARE_OF_LOCK);
}

/** A running deadline: its signal, and `end()` to stop its timer once the step is over. */
export interface StepDeadline {
  readonly signal: AbortSignal;
  /** Clears the timer and the listener on the caller's signal; the step's objects are then free to be collected. */
  end(): void;
}

/**
 * A signal that aborts with a `StepTimeoutError` after `timeoutMs`, with an `AbortError` as soon as `caller`
 * aborts, or with a `ShuttingDownError` when `shutdown` aborts its steps (the step counts as in flight there until
 * `end()`). Start it when the request arrives, so that the time spent waiting (store reads, the event loop) counts,
 * and `end()` it when the step is over: a timer left pending would keep the step's signal, and everything that
 * listens to it (the model client's request), alive until it fires, minutes later.
 */
export function startStepDeadline(timeoutMs: number, caller?: AbortSignal, shutdown?: StepShutdown): StepDeadline {
  const controller = new AbortController();
  DEADLINES.set(controller.signal, Date.now() + timeoutMs);
  const stop = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const timer = setTimeout(() => stop(new StepTimeoutError(timeoutMs)), timeoutMs);
  const gone = () => stop(callerReason(caller!));
  if (caller?.aborted) gone();
  else caller?.addEventListener("abort", gone, { once: true });
  const leave = shutdown?.enter(stop);
  return {
    signal: controller.signal,
    end() {
      clearTimeout(timer);
      caller?.removeEventListener("abort", gone);
      leave?.();
    },
  };
}

/** When each deadline's signal aborts by itself (epoch ms), so a nested `withStepDeadline` can use it as is. */
const DEADLINES = new WeakMap<AbortSignal, number>();

/**
 * Runs `step` under a deadline (see `startStepDeadline`), ending it however the step ends (after the step has given
 * its run back, so `shutdown` counts it in flight until then). When `caller` is itself a step deadline's signal
 * that ends no later than this one would (an HTTP route's, counted from the request's arrival, handed to
 * `RunService`), it is used as is: one timer per step, not one per layer (the outer one carries the shutdown).
 */
export async function withStepDeadline<T>(
  timeoutMs: number,
  caller: AbortSignal | undefined,
  step: (signal: AbortSignal) => Promise<T>,
  shutdown?: StepShutdown,
): Promise<T> {
  const outer = caller && DEADLINES.get(caller);
  if (outer !== undefined && outer <= Date.now() + timeoutMs) return await step(caller!);
  const deadline = startStepDeadline(timeoutMs, caller, shutdown);
  try {
    return await step(deadline.signal);
  } finally {
    deadline.end();
  }
}

/** The caller's own reason when it is one of a step's (see the module comment), else an `AbortError`. */
function callerReason(caller: AbortSignal): unknown {
  const reason = caller.reason;
  if (reason instanceof StepTimeoutError || reason instanceof ShuttingDownError) return reason;
  if (reason instanceof DOMException && reason.name === "AbortError") return reason;
  return new DOMException("The request was aborted by the client.", "AbortError");
}
