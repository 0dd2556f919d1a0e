/**
 * What every remote backend does around a request: the options they share, rate limiting, retries with backoff,
 * jitter and Retry-After, and turning a final failure into a `ModelError` that names the backend, the model, the
 * HTTP status and the server's message. Aborts surface as the signal's reason; `ConfigurationError`s pass through.
 */

import type { ChatMessageStreamDelta } from "./chat_message.ts";
import type { RoleConversions } from "./message_utils.ts";
import { ConfigurationError, ModelError } from "../errors.ts";
import {
  defaultClassify,
  RateLimiter,
  type RetryDecision,
  type RetryInfo,
  type RetryOptions,
  withRetry,
} from "./retry.ts";

/** Options shared by the remote backends (each adds its own). */
export interface RemoteModelOptions {
  /** Role mapping applied on top of tool-call -> assistant, tool-response -> user. */
  customRoleConversions?: RoleConversions;
  /** Send every message as plain text (images dropped), for text-only servers. */
  flattenMessagesAsText?: boolean;
  /** Spaces requests (each retry counts) to at most this many per minute. */
  requestsPerMinute?: number;
  /** Retries on 429 / 5xx / network errors / timeouts (default 4). */
  maxRetries?: number;
  /** Backoff tuning and an `onRetry` hook. */
  retry?: Omit<RetryOptions, "maxRetries" | "signal" | "classify">;
  /** Per-attempt timeout: a whole reply (headers and body), a stream until it starts and then between its chunks. */
  timeoutMs?: number;
  /** Extra request fields (temperature, max_tokens, seed...); per-call options override them. */
  kwargs?: Record<string, unknown>;
}

export interface RequestRunnerOptions extends Pick<RemoteModelOptions, "requestsPerMinute" | "maxRetries" | "retry"> {
  /** Backend name used in error messages, e.g. "OpenAIServerModel". */
  label: string;
  modelId: string;
  /** Retry decision for a failed attempt (default `defaultClassify`). */
  classify?: (error: unknown) => RetryDecision;
  /** The server's own message for an error, when the client buries it. */
  detail?: (error: unknown) => string | undefined;
}

export class RequestRunner {
  readonly #options: RequestRunnerOptions;
  readonly #limiter: RateLimiter | undefined;

  constructor(options: RequestRunnerOptions) {
    this.#options = options;
    this.#limiter = options.requestsPerMinute ? new RateLimiter(options.requestsPerMinute) : undefined;
  }

  /**
   * One logical call: each attempt waits for the rate limiter; a final failure becomes a `ModelError`. `onRetry`
   * (the call's own, from `GenerateOptions`) is told of each retry after the backend's `retry.onRetry`.
   */
  async send<T>(
    attempt: (signal: AbortSignal | undefined) => Promise<T>,
    signal?: AbortSignal,
    onRetry?: (info: RetryInfo) => void,
  ): Promise<T> {
    const { retry, maxRetries = 4, classify = defaultClassify } = this.#options;
    const notify = onRetry
      ? (info: RetryInfo) => {
        retry?.onRetry?.(info);
        onRetry(info);
      }
      : retry?.onRetry;
    try {
      const limiter = this.#limiter;
      const limited = limiter
        ? async () => (await limiter.acquire(signal), await attempt(signal))
        : () => attempt(signal);
      return await withRetry(limited, { ...retry, maxRetries, signal, classify, onRetry: notify });
    } catch (error) {
      throw this.failure(error, signal);
    }
  }

  /**
   * A stream: opening it (`open` resolves once the response has started) is retried like `send`; later chunks are
   * mapped to deltas, and an error while reading becomes a `ModelError` (a half-read stream is not retried).
   */
  async *stream<C>(
    open: (signal: AbortSignal | undefined) => Promise<AsyncIterable<C>>,
    toDelta: (chunk: C) => ChatMessageStreamDelta | undefined,
    signal?: AbortSignal,
    onRetry?: (info: RetryInfo) => void,
  ): AsyncGenerator<ChatMessageStreamDelta> {
    const chunks = await this.send(open, signal, onRetry);
    try {
      for await (const chunk of chunks) {
        const delta = toDelta(chunk);
        if (delta) yield delta;
      }
      // A stream may end quietly when its signal aborts (a custom model's `openai` client does): a cut stream is not
      // a whole reply.
      signal?.throwIfAborted();
    } catch (error) {
      throw this.failure(error, signal);
    }
  }

  /** The error to throw for a final failure. */
  failure(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof ModelError || error instanceof ConfigurationError) return error;
    const { label, modelId, classify = defaultClassify } = this.#options;
    const { status, retryable } = classify(error);
    const http = status ? ` with HTTP ${status}` : "";
    const detail = this.#options.detail?.(error) || (error instanceof Error ? error.message : String(error));
    const message = `${label} "${modelId}": request failed${http}: ${detail}`;
    return new ModelError(message, { modelId, status, retryable, cause: error });
  }

  /** A `ModelError` for a reply the backend could not use (not retried). */
  badReply(what: string): ModelError {
    const { label, modelId } = this.#options;
    return new ModelError(`${label} "${modelId}": ${what}`, { modelId });
  }
}

/** Rejects a `timeout` (seconds) given together with `timeoutMs`, and returns the timeout in milliseconds. */
export function timeoutInMs(
  label: string,
  options: { timeout?: number; timeoutMs?: number },
  defaultMs?: number,
): number | undefined {
  if (options.timeout !== undefined && options.timeoutMs !== undefined) {
    throw new ConfigurationError(`${label}: pass \`timeout\` (seconds) or \`timeoutMs\`, not both`);
  }
  return options.timeoutMs ?? (options.timeout !== undefined ? options.timeout * 1000 : defaultMs);
}

/** A signal that aborts with a `TimeoutError` after `timeoutMs`, unless cleared first. */
export function attemptTimer(timeoutMs: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const expire = () => controller.abort(new DOMException(`request timed out after ${timeoutMs} ms`, "TimeoutError"));
  const id = setTimeout(expire, timeoutMs);
  return { signal: controller.signal, clear: () => clearTimeout(id) };
}

/**
 * Aborts its controller with a `TimeoutError` once `ms` pass without a `touch()`: one timer at a time, re-armed for
 * what is left when it fires early, so a chunk costs no timer of its own.
 */
export class IdleTimer {
  #last = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms: number, readonly controller: AbortController) {
    this.#arm(ms);
  }

  touch(): void {
    this.#last = Date.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => {
      const left = this.#last + this.ms - Date.now();
      if (left > 0) return this.#arm(left);
      this.controller.abort(new DOMException(`the stream sent nothing for ${this.ms} ms`, "TimeoutError"));
    }, delay);
  }
}
