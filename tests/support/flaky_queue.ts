import type { QueueMessage, RunQueue } from "../../lib/server.ts";

type MessageType = QueueMessage["type"];
/** Which sends a refusal applies to: the message, and the delay it is sent with. */
type Match = (message: QueueMessage, delayMs: number) => boolean;

/**
 * A queue that keeps what it is sent, for tests that fail sends: `refuse(type, n, match)` makes its next `n` sends of
 * that type (that `match`, if given) throw ("queue down"), `hang(type)` makes every send of that type never settle
 * (the sender's process died before the queue took it) until `hang(undefined)`, and `hold(type)` makes sends of that
 * type wait until `release()` (`held` counts those waiting). `delayOf` tells the delay a message was sent with (it is
 * kept, not waited for).
 */
export class FlakyQueue implements RunQueue {
  readonly sent: QueueMessage[] = [];
  readonly #refusals = new Map<MessageType, { times: number; match?: Match }>();
  readonly #delays = new WeakMap<QueueMessage, number>();
  #hanging: MessageType | undefined;
  #holding: MessageType | undefined;
  #gate = Promise.withResolvers<void>();
  /** Sends waiting for `release()`. */
  held = 0;

  refuse(type: MessageType, times = 1, match?: Match): void {
    this.#refusals.set(type, { times, match });
  }

  hang(type: MessageType | undefined): void {
    this.#hanging = type;
  }

  hold(type: MessageType): void {
    this.#holding = type;
  }

  /** Lets the held sends (and later ones) through. */
  release(): void {
    this.#holding = undefined;
    this.#gate.resolve();
  }

  async enqueue(message: QueueMessage, options: { delayMs?: number } = {}): Promise<void> {
    if (this.#holding === message.type) {
      this.held++;
      await this.#gate.promise;
    }
    const refusal = this.#refusals.get(message.type);
    const delayMs = options.delayMs ?? 0;
    if (refusal && refusal.times > 0 && (!refusal.match || refusal.match(message, delayMs))) {
      refusal.times--;
      throw new Error("queue down");
    }
    if (this.#hanging === message.type) return await new Promise(() => {});
    this.sent.push(message);
    this.#delays.set(message, delayMs);
  }

  /** The delay `message` (one of `sent`, or taken from it) was sent with. */
  delayOf(message: QueueMessage): number | undefined {
    return this.#delays.get(message);
  }

  /** Removes and returns the messages of `type` sent so far. */
  take(type: MessageType): QueueMessage[] {
    const taken = this.sent.filter((message) => message.type === type);
    this.sent.splice(0, this.sent.length, ...this.sent.filter((message) => message.type !== type));
    return taken;
  }
}
