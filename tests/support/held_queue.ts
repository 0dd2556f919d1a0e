import type { QueueMessage, RunQueue } from "../../lib/server.ts";

/** A queue that delivers nothing: it keeps what is sent, for a test to inspect or hand to the app itself. */
export class HeldQueue implements RunQueue {
  readonly sent: QueueMessage[] = [];
  enqueue(message: QueueMessage): Promise<void> {
    this.sent.push(message);
    return Promise.resolve();
  }
}
