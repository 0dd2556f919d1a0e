import { ConfigurationError, SmolstepError } from "../errors.ts";

/**
 * Time limits of tool calls. A tool that never settles must not hold a step (and a KV run's lock) until the lock
 * expires: each call is raced against its limit and the step's abort signal, and the tool gets a signal that
 * aborts at the first of the two, so tools that honour it stop their work too.
 */

/** Default limit of one tool call, when neither the tool nor the agent sets one. */
export const DEFAULT_TOOL_TIMEOUT_MS = 60_000;

/** The largest delay timers accept (about 24.8 days); longer ones would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** A tool call ran past its time limit. Its signal was aborted; whatever it returns later is discarded. */
export class ToolTimeoutError extends SmolstepError {
  override name = "ToolTimeoutError";
  constructor(readonly toolName: string, readonly timeoutMs: number) {
    super(`Tool '${toolName}' did not finish within its time limit of ${timeoutMs} ms; the call was abandoned.`, {
      code: "tool_timeout",
      retryable: true,
    });
  }
}

/** Checks a configured limit: a whole number of milliseconds, at least 1, at most what timers accept. */
export function checkTimeoutMs(value: number | undefined, label: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new ConfigurationError(
      `${label} must be a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}, not ${value}.`,
    );
  }
  return value;
}

/**
 * Microtask turns a call may take before its limit's timer is armed. A timer costs more than a quick tool call's own
 * work (Deno's `setTimeout` plus `clearTimeout` is several microseconds, on every call), and it can only fire once the
 * current task's microtasks have run: a call that settles within them never needed it. A call that is still running
 * after these turns (I/O, a hung tool) gets a timer for the rest of its limit, counted from the call's start, so it
 * expires when it would have. A quick tool (validation, `setup`, `forward`, the output) settles in about five turns.
 */
const TURNS_BEFORE_TIMER = 12;

/**
 * Runs `call` with a signal that aborts after `timeoutMs` (reason: a `TimeoutError` DOMException, as
 * `AbortSignal.timeout` gives) or when `outer` aborts (its reason). Settles with the call, or rejects with
 * `ToolTimeoutError` at the limit, or with `outer`'s reason when it aborts first, without waiting for the call.
 */
export function withTimeLimit<T>(
  toolName: string,
  timeoutMs: number,
  outer: AbortSignal | undefined,
  call: (signal: AbortSignal) => T | Promise<T>,
): Promise<T> {
  checkTimeoutMs(timeoutMs, `The time limit of tool '${toolName}'`);
  if (outer?.aborted) return Promise.reject(outer.reason);
  const controller = new AbortController();
  const started = performance.now();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = () => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      settle();
      controller.abort(outer!.reason);
      reject(outer!.reason);
    };
    const expire = () => {
      settle();
      const error = new ToolTimeoutError(toolName, timeoutMs);
      controller.abort(new DOMException(error.message, "TimeoutError"));
      reject(error);
    };
    outer?.addEventListener("abort", onAbort, { once: true });
    // Handled in every case, so a call that fails after its limit is no unhandled rejection.
    new Promise<T>((run) => run(call(controller.signal))).then(
      (value) => {
        settle();
        resolve(value);
      },
      (error) => {
        settle();
        reject(error);
      },
    );
    let turns = 0;
    const watch = () => {
      if (settled) return;
      if (++turns < TURNS_BEFORE_TIMER) return queueMicrotask(watch);
      timer = setTimeout(expire, Math.max(0, timeoutMs - Math.floor(performance.now() - started)));
    };
    queueMicrotask(watch);
  });
}
