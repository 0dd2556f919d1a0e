/**
 * The Workers queue consumer's loop: a batch of Cloudflare Queue messages handed to the background runner one by
 * one, in order. A message smolstep did not write is acked (dropped); a handled message is acked; a handler that
 * throws (a transient condition such as `step_in_progress`) retries the message after `retryDelaySeconds`, and the
 * platform gives up after the consumer's `max_retries` (wrangler.toml). Retrying a step, or running one twice, is
 * safe: the runner acts only on a run still at the message's sequence number (lib/runs/background_runner.ts).
 */
import { isQueueMessage, type QueueHandler } from "../../runs/run_queue.ts";

/** The part of a Workers queue `Message` used here (typed structurally). */
export interface WorkersQueueMessage {
  readonly body: unknown;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** The part of a Workers `MessageBatch` used here. */
export interface WorkersMessageBatch {
  readonly messages: readonly WorkersQueueMessage[];
}

/** Seconds before a message whose handler threw is delivered again (default of `consumeQueueBatch`). */
export const QUEUE_RETRY_DELAY_SECONDS = 2;

/** Handles every message of `batch` in order, acking or retrying each one. Never throws. */
export async function consumeQueueBatch(
  batch: WorkersMessageBatch,
  handle: QueueHandler,
  options: { retryDelaySeconds?: number } = {},
): Promise<void> {
  const delaySeconds = options.retryDelaySeconds ?? QUEUE_RETRY_DELAY_SECONDS;
  for (const message of batch.messages) {
    if (!isQueueMessage(message.body)) {
      message.ack();
      continue;
    }
    try {
      await handle(message.body);
      message.ack();
    } catch {
      message.retry({ delaySeconds });
    }
  }
}
