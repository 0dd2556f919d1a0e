/**
 * Sizing a remote model's time limits to a step's deadline. A model call may take, at worst, every attempt's
 * timeout plus every wait between attempts: `timeoutMs * (maxRetries + 1) + maxRetries * maxDelayMs` (a computed
 * backoff and an honoured Retry-After are both capped at `maxDelayMs`). Keeping that under the step's deadline
 * (itself under the run's lock) means a hung or slow model ends the step with the model's own error, which says
 * what happened, rather than with the deadline; the deadline still cuts anything left.
 */

import type { RemoteModelOptions } from "./request_runner.ts";

/** The time limits every remote backend accepts (`OpenAIServerModel`, `InferenceClientModel`, ...). */
export interface ModelTimeLimits extends Required<Pick<RemoteModelOptions, "timeoutMs" | "maxRetries">> {
  retry: { baseDelayMs: number; maxDelayMs: number };
}

/** What may be fixed by hand; the rest is derived from the budget. */
export interface ModelTimeLimitChoices {
  /** Per-attempt timeout, a whole reply (default: the budget shared by the attempts, <= 60 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /** Backoff base, doubling per retry (default 1000 ms). */
  baseDelayMs?: number;
  /** Longest wait between attempts, Retry-After included (default a tenth of the budget, at most 30 s). */
  maxDelayMs?: number;
}

const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_BASE_DELAY_MS = 1_000;
const LONGEST_ATTEMPT_MS = 60_000;
const LONGEST_WAIT_MS = 30_000;

/**
 * Per-attempt timeout, retries and backoff whose worst case fits in `budgetMs` (a step's deadline), for the values
 * not given in `choices`. With the default 5-minute lock (270 s steps): 60 s per attempt, 2 retries, waits of at
 * most 27 s: 234 s at worst.
 */
export function modelTimeLimits(budgetMs: number, choices: ModelTimeLimitChoices = {}): ModelTimeLimits {
  if (!(budgetMs > 0)) throw new RangeError(`The time budget must be positive (got ${budgetMs}).`);
  const maxRetries = choices.maxRetries ?? DEFAULT_MAX_RETRIES;
  const baseDelayMs = choices.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const maxDelayMs = choices.maxDelayMs ?? Math.min(LONGEST_WAIT_MS, Math.floor(budgetMs / 10));
  const shared = Math.floor((budgetMs - maxRetries * maxDelayMs) / (maxRetries + 1));
  const timeoutMs = choices.timeoutMs ?? Math.max(1, Math.min(LONGEST_ATTEMPT_MS, shared));
  return { timeoutMs, maxRetries, retry: { baseDelayMs, maxDelayMs } };
}

/** The longest a model call can take under these limits (attempts and waits, ignoring a rate limiter). */
export function worstCaseMs(limits: ModelTimeLimits): number {
  return limits.timeoutMs * (limits.maxRetries + 1) + limits.maxRetries * limits.retry.maxDelayMs;
}
