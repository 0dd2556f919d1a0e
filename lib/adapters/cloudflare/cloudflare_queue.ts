/**
 * Cloudflare Queues adapter. Producer: `new CloudflareQueue(env.STEPS)`. Consumer: the Worker's `queue()` handler
 * passes its batch to `consumeQueueBatch` (./queue_consumer.ts), which hands each message body to
 * `handleQueueMessage`, acking on success and retrying on failure.
 */
import type { QueueMessage, RunQueue } from "../../runs/run_queue.ts";

/** The part of a Workers `Queue` binding used here (typed structurally). */
export interface WorkersQueue {
  send(body: unknown, options?: { delaySeconds?: number }): Promise<void>;
}

export class CloudflareQueue implements RunQueue {
  readonly #queue: WorkersQueue;

  constructor(queue: WorkersQueue) {
    this.#queue = queue;
  }

  async enqueue(message: QueueMessage, options: { delayMs?: number } = {}): Promise<void> {
    const delaySeconds = Math.ceil((options.delayMs ?? 0) / 1000);
    await this.#queue.send(message, delaySeconds > 0 ? { delaySeconds } : undefined);
  }
}
