import type { RetryInfo } from "./retry.ts";

/** How a model call ended: `aborted` when the caller's signal stopped it (a client that went away). */
export type ModelCallOutcome = "ok" | "error" | "aborted";

/**
 * Told about the model calls of a step (metrics). Agents report every call they make, whatever the model; retries
 * are reported by backends that retry (the `onRetry` of `GenerateOptions`).
 */
export interface ModelObserver {
  /** One logical call ended (after all its retries). */
  modelCallEnded(modelId: string, seconds: number, outcome: ModelCallOutcome): void;
  /** A call is about to be retried after a failed attempt. */
  modelRetried(modelId: string, info: RetryInfo): void;
}
