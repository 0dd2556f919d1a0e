import type { QueueMessage, RunQueue } from "../../lib/server.ts";

type MessageType = QueueMessage["type"];

/**
 * A queue that keeps what it is sent, for tests that fail sends: `refuse(type, n)` makes its next `n` sends of that
 * type throw ("queue down"), `hang(type)` makes every send of that type never settle (the sender's process died
 * before the queue took it) until `hang(undefined)`.
 */
export class FlakyQueue implements RunQueue {
  readonly sent: QueueMessage[] = [];
  readonly #refusals = new Map<MessageType, number>();
  #hanging: MessageType | undefined;

  refuse(type: MessageType, times = 1): void {
    this.#refusals.set(type, times);
  }

  hang(type: MessageType | undefined): void {
    this.#hanging = type;
  }

  enqueue(message: QueueMessage): Promise<void> {
    const refusals = this.#refusals.get(message.type) ?? 0;
    if (refusals > 0) {
      this.#refusals.set(message.type, refusals - 1);
      return Promise.reject(new Error("queue down"));
    }
    if (this.#hanging === message.type) return new Promise(() => {});
    this.sent.push(message);
    return Promise.resolve();
  }

  /** Removes and returns the messages of `type` sent so far. */
  take(type: MessageType): QueueMessage[] {
    const taken = this.sent.filter((message) => message.type === type);
    this.sent.splice(0, this.sent.length, ...this.sent.filter((message) => message.type !== type));
    return taken;
  }
}
