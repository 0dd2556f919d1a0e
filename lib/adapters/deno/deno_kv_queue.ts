/** Deno KV queue adapter: `enqueue` with a delay; Deno retries a delivery whose handler throws. */
import { isQueueMessage, type QueueHandler, type QueueMessage, type RunQueue } from "../../runs/run_queue.ts";

export class DenoKvQueue implements RunQueue {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  async enqueue(message: QueueMessage, options: { delayMs?: number } = {}): Promise<void> {
    await this.#kv.enqueue(message, { delay: options.delayMs ?? 0 });
  }

  /** Delivers this KV's smolstep messages to `handler` (other values on the same queue are ignored). */
  listen(handler: QueueHandler): Promise<void> {
    return this.#kv.listenQueue(async (value: unknown) => {
      if (isQueueMessage(value)) await handler(value);
    });
  }
}
