/**
 * Backend-independent retries (exponential backoff, full jitter, Retry-After) and a requests-per-minute limiter.
 * Both wait with plain abortable timeouts: nothing keeps running once a call settles.
 */

/** What `withRetry` needs to know about a failure. */
export interface RetryDecision {
  retryable: boolean;
  /** Server-requested wait (from Retry-After), used instead of the computed backoff. */
  retryAfterMs?: number;
  status?: number;
}

export interface RetryInfo {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: unknown;
  status?: number;
}

export interface RetryOptions {
  /** Retries after the first attempt (default 4, so at most 5 calls). */
  maxRetries?: number;
  /** Backoff base: the n-th retry waits a random time in [0, baseDelayMs * 2^(n-1)] (default 1000). */
  baseDelayMs?: number;
  /** Cap on a computed backoff, and the longest Retry-After honoured; longer ones fail at once (default 30000). */
  maxDelayMs?: number;
  /** Aborting stops any wait immediately and rethrows the signal's reason. */
  signal?: AbortSignal;
  /** Decides whether an error is worth retrying (default: `defaultClassify`). */
  classify?: (error: unknown) => RetryDecision;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
  /** Source of randomness for the jitter, in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * Calls `fn` until it succeeds, a failure is not retryable, or the retries run out (then the last error is thrown).
 * `fn` receives the 0-based attempt number.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { maxRetries = 4, baseDelayMs = 1000, maxDelayMs = 30_000, signal, onRetry } = options;
  const classify = options.classify ?? defaultClassify;
  const random = options.random ?? Math.random;
  for (let attempt = 0;; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const decision = classify(error);
      if (!decision.retryable || attempt >= maxRetries) throw error;
      if (decision.retryAfterMs !== undefined && decision.retryAfterMs > maxDelayMs) throw error;
      const delayMs = decision.retryAfterMs ??
        Math.round(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
      onRetry?.({ attempt: attempt + 1, delayMs, error, status: decision.status });
      await sleep(delayMs, signal);
    }
  }
}

/**
 * The default classification: an HTTP failure (an error's numeric `status` or `statusCode`, as on `openai`'s
 * `APIError` and our `ModelError`) by `retryableHttpStatus`, and network failures and timeouts are retryable. An
 * explicit boolean `retryable` on the error wins. Retry-After is read from the error's `headers` (a `Headers` or a
 * plain record).
 */
export function defaultClassify(error: unknown): RetryDecision {
  if (typeof error !== "object" || error === null) return { retryable: false };
  const e = error as Record<string, unknown>;
  const status = typeof e.status === "number" ? e.status : typeof e.statusCode === "number" ? e.statusCode : undefined;
  const retryAfterMs = retryAfterFromHeaders(e.headers);
  if (typeof e.retryable === "boolean") return { retryable: e.retryable, status, retryAfterMs };
  if (isAbort(error)) return { retryable: false, status };
  if (status !== undefined) return { retryable: retryableHttpStatus(status, e.headers), status, retryAfterMs };
  return { retryable: isNetworkError(error), status };
}

function isAbort(error: object): boolean {
  const name = (error as Error).name;
  return name === "AbortError" || error.constructor?.name === "APIUserAbortError";
}

function isNetworkError(error: object): boolean {
  const name = (error as Error).name;
  if (error instanceof TypeError || name === "TimeoutError" || name === "NetworkError") return true;
  // openai's APIConnectionError / APIConnectionTimeoutError carry no status and keep the generic `name`.
  return /^APIConnection/.test(error.constructor?.name ?? "");
}

/**
 * Whether a failed HTTP response is worth trying again, as the `openai` client decides: the server's `x-should-retry`
 * header when it says `true` or `false`, else 408 (timeout), 409 (conflict, e.g. a lock), 429 and 5xx.
 */
export function retryableHttpStatus(status: number, headers?: unknown): boolean {
  const shouldRetry = headerOf(headers, "x-should-retry");
  if (shouldRetry === "true") return true;
  if (shouldRetry === "false") return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** A header's value from a `Headers` or a plain record (string or number values). */
function headerOf(headers: unknown, name: string): string | null | undefined {
  if (headers instanceof Headers) return headers.get(name);
  if (typeof headers !== "object" || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
}

/** Milliseconds to wait from `retry-after-ms`, or `retry-after` given in seconds or as an HTTP date. */
export function retryAfterFromHeaders(headers: unknown, now: number = Date.now()): number | undefined {
  const get = (name: string) => headerOf(headers, name);
  const ms = Number(get("retry-after-ms") ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = get("retry-after")?.trim();
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. Leaves no timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Spaces calls at least `60000 / requestsPerMinute` ms apart (smolagents' `requests_per_minute`). Each `acquire()`
 * books the next free slot and waits for it; an idle limiter holds no timer.
 */
export class RateLimiter {
  readonly intervalMs: number;
  #nextSlot = 0;
  #now: () => number;

  constructor(requestsPerMinute: number, options: { now?: () => number } = {}) {
    if (!(requestsPerMinute > 0)) throw new RangeError("requestsPerMinute must be a positive number");
    this.intervalMs = 60_000 / requestsPerMinute;
    this.#now = options.now ?? Date.now;
  }

  /** Waits until this caller may send a request. Aborting rejects at once (the booked slot stays used). */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.#now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + this.intervalMs;
    if (slot > now) await sleep(slot - now, signal);
  }
}
