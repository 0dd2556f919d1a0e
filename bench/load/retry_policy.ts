/**
 * What a well-behaved client does after each attempt, as a pure decision: the load clients follow it, and the tests
 * pin it down. It is the behaviour we would advise users to copy: retry the SAME run (with the same Idempotency-Key)
 * on anything transient, honour Retry-After within a cap, back off with full jitter, and start a new run only when
 * the run has ended or cannot go on.
 */
import type { AttemptOutcome } from "./stats.ts";

export interface RetryPolicy {
  /** First backoff ceiling; the n-th retry waits a random time in [0, baseDelayMs * 2^(n-1)], capped. */
  baseDelayMs: number;
  /** Cap on a computed backoff. */
  maxDelayMs: number;
  /** Longest Retry-After honoured; longer ones are cut to this (the level is time-bounded). */
  retryAfterCapMs: number;
  /** Attempts (the first included) before the client gives the run up. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  retryAfterCapMs: 2_000,
  maxAttempts: 30,
};

export type ClientDecision =
  /** The attempt succeeded. */
  | { action: "done" }
  /** Try the same request again (same run, same Idempotency-Key) after `delayMs`. */
  | { action: "retry"; delayMs: number }
  /** The run has ended on the server (409 run_finished): count it finished and start a new one. */
  | { action: "run_ended" }
  /** Stop stepping this run and start a new one. */
  | { action: "give_up" };

/**
 * Transient answers, retried on the same run: 409 step_in_progress / step_lost (another attempt of ours may still
 * hold the lock), 429, 499 (the server saw our earlier attempt go away), 502 (the model failed after its retries),
 * 503 (admission control), 504 (step deadline), other 5xx, our own timeout and connection failures. Refusals that
 * will not change (400, 401, 403, 404, 409 token_replayed, 413, 422) give the run up.
 */
export function decideRetry(
  outcome: AttemptOutcome,
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): ClientDecision {
  if (outcome.kind === "ok") return { action: "done" };
  if (outcome.kind === "http" && outcome.status === 409 && outcome.code === "run_finished") {
    return { action: "run_ended" };
  }
  if (!isTransient(outcome) || attempt >= policy.maxAttempts) return { action: "give_up" };
  const backoff = Math.round(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
  if (outcome.kind === "http" && outcome.retryAfterSeconds !== undefined && outcome.retryAfterSeconds >= 0) {
    // Honour the server's wait, capped; a little jitter on top spreads the herd it sent away at the same moment.
    const asked = Math.min(outcome.retryAfterSeconds * 1000, policy.retryAfterCapMs);
    return { action: "retry", delayMs: Math.round(asked + random() * policy.baseDelayMs) };
  }
  return { action: "retry", delayMs: backoff };
}

function isTransient(outcome: AttemptOutcome): boolean {
  if (outcome.kind === "timeout" || outcome.kind === "network") return true;
  if (outcome.kind !== "http") return false;
  const { status, code } = outcome;
  if (status === 409) return code === "step_in_progress" || code === "step_lost" || code === undefined;
  return status === 408 || status === 425 || status === 429 || status === 499 || status >= 500;
}

/** Parses a Retry-After header given in seconds (the HTTP-date form is not used by smolstep); undefined otherwise. */
export function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+(\.\d+)?\s*$/.test(header)) return undefined;
  return Number(header);
}
