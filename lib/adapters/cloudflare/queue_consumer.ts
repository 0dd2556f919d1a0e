/**
 * The Workers queue consumer's loop: the messages of a Cloudflare Queue batch handed to the background runner all
 * at once, as Deno's KV queue delivers them, so that the steps of runs that happen to share a batch do not wait for
 * each other (the consumer's `max_batch_size` in wrangler.toml bounds how many run together). A message smolstep
 * did not write is acked (dropped); a handled message is acked; a handler that throws (a transient condition such
 * as `step_in_progress`) retries the message after `retryDelaySeconds`, and the platform gives up after the
 * consumer's `max_retries`. Running two messages of one run at once, retrying a step, or running one twice is safe:
 * the runner steps only a run still at the message's sequence number, under the run's lock
 * (lib/runs/background_runner.ts).
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

/** Handles the messages of `batch` concurrently, acking or retrying each one; resolves when all are done. */
export async function consumeQueueBatch(
  batch: WorkersMessageBatch,
  handle: QueueHandler,
  options: { retryDelaySeconds?: number } = {},
): Promise<void> {
  const delaySeconds = options.retryDelaySeconds ?? QUEUE_RETRY_DELAY_SECONDS;
  await Promise.all(batch.messages.map(async (message) => {
    if (!isQueueMessage(message.body)) return message.ack();
    try {
      await handle(message.body);
      message.ack();
    } catch {
      message.retry({ delaySeconds });
    }
  }));
}
