import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http_errors.ts";
import { stepStillRunning } from "./step_stream.ts";

/** Steps one process runs at once unless `maxStepsInFlight` says otherwise. */
export const DEFAULT_MAX_STEPS_IN_FLIGHT = 100;

/** What a refused client is told to wait (seconds) before trying again. */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;

/**
 * Admission control: at most `limit` steps in flight in this process. A step request beyond it is refused at
 * once (503 `overloaded` with `Retry-After`), before its body is read or the store is touched, so an overloaded
 * process sheds work instead of queueing it until every client has given up.
 *
 * Background steps (queue messages) are counted but never refused: the queue, not a client, would have to retry
 * them, and the platform's redelivery is slower and bounded. They only make room scarcer for HTTP steps.
 *
 * This is the one count of steps in flight: `/health` reads it, and `onChange` (the `smolstep_steps_in_flight`
 * gauge) is told each change, so `/health` and `/metrics` never disagree.
 */
export class StepAdmission {
  readonly limit: number;
  #inFlight = 0;
  readonly #onChange: ((delta: 1 | -1) => void) | undefined;

  constructor(limit: number = DEFAULT_MAX_STEPS_IN_FLIGHT, onChange?: (delta: 1 | -1) => void) {
    if (!(Number.isInteger(limit) && limit > 0)) {
      throw new RangeError(`maxStepsInFlight must be a positive integer (got ${limit}).`);
    }
    this.limit = limit;
    this.#onChange = onChange;
  }

  /** Steps running now in this process (HTTP and background). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes a place if one is free: returns its release function (idempotent), or null at the limit. */
  tryEnter(): (() => void) | null {
    if (this.#inFlight >= this.limit) return null;
    return this.#enter();
  }

  /** Takes a place, or throws 503 `overloaded` (with `Retry-After`) at the limit: a step request's admission. */
  enterOrRefuse(): () => void {
    const release = this.tryEnter();
    if (release) return release;
    throw new HttpError(
      503,
      "overloaded",
      `This server is running its maximum of ${this.limit} steps; retry after ${OVERLOAD_RETRY_AFTER_SECONDS} s.`,
      { "Retry-After": String(OVERLOAD_RETRY_AFTER_SECONDS) },
    );
  }

  /** Counts a step that may not be refused (a queue message); may take the count past the limit. */
  enter(): () => void {
    return this.#enter();
  }

  #enter(): () => void {
    this.#inFlight++;
    this.#onChange?.(1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      this.#onChange?.(-1);
    };
  }

  /** Hono middleware for the step routes: 503 `overloaded` beyond the limit, else holds a place until the response. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const release = this.enterOrRefuse();
      try {
        await next();
      } finally {
        releaseWhenStepEnds(c.req.raw, release);
      }
    };
  }
}

/** Gives a step's place back once its response is done: a streamed step goes on after its response started. */
export function releaseWhenStepEnds(request: Request, release: () => void): void {
  const running = stepStillRunning(request);
  if (running) running.finally(release);
  else release();
}
