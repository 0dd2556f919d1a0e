/**
 * The continuation seam: after each committed step of a background run, "step run X at sequence N" is enqueued on
 * the platform queue (Deno KV queue, Cloudflare Queue, or the in-process queue for tests and local dev).
 *
 * A message only acts when the run is still running at sequence `seq` (its count of committed steps, managed
 * agents' steps included: `RunRecord.seq`) and no step was committed there, so a retried or duplicated delivery never
 * runs a step twice (lib/runs/background_runner.ts).
 */

import { createLogger, errorFields, type Logger } from "../logging/logger.ts";

export type QueueMessage =
  /**
   * Steps the run at `seq`. `id`: the message's own, kept by its watchdog copy and its retries; it steps under the key
   * `bg:<seq>:<id>`, so another message for the same `seq` is never taken for it (absent on messages of older
   * servers: key `bg:<seq>`).
   */
  | { type: "step"; runId: string; seq: number; attempt: number; id?: string }
  | { type: "callback"; runId: string; attempt: number }
  /**
   * Watches a background run with a callback (last seen at step `seq`): once it could have gone idle past
   * `idleRunTtlSeconds`, checks whether it reads `expired` (then its result callback is sent) or is still active
   * (then the next watch is queued). See `BackgroundRunner`.
   */
  | { type: "expiry"; runId: string; seq: number };

export interface RunQueue {
  enqueue(message: QueueMessage, options?: { delayMs?: number }): Promise<void>;
}

export type QueueHandler = (message: QueueMessage) => Promise<void>;

/** Checks the shape of a message coming from a platform queue. */
export function isQueueMessage(value: unknown): value is QueueMessage {
  const message = value as { type?: unknown; runId?: unknown; seq?: unknown; attempt?: unknown; id?: unknown } | null;
  if (!message || typeof message !== "object" || typeof message.runId !== "string") return false;
  if (message.type === "expiry") return typeof message.seq === "number";
  if (typeof message.attempt !== "number") return false;
  if (message.type === "callback") return true;
  const id = message.id === undefined || typeof message.id === "string";
  return message.type === "step" && typeof message.seq === "number" && id;
}

/**
 * A queue inside this process: deliveries run on timers, a handler that throws is retried (up to `maxDeliveries`
 * times, with a growing delay), like the platform queues do. `idle()` resolves when nothing is pending.
 *
 * Watches (`expiry` messages) are apart: each background run with a callback keeps one scheduled, up to 12 hours
 * ahead, for as long as it lives, so waiting for them would mean waiting for every run to end or expire. `idle()`
 * does not wait for a scheduled watch unless asked (`{ watches: true }`); `close()` drops them with the rest.
 */
export class InProcessQueue implements RunQueue {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #watchTimers = new Set<ReturnType<typeof setTimeout>>();
  readonly #running = new Set<Promise<void>>();
  readonly #maxDeliveries: number;
  #handler: QueueHandler | undefined;
  #idleWaiters: Array<{ watches: boolean; resolve: () => void }> = [];
  /** Every message handed to the handler, in order (tests inspect it). */
  readonly delivered: QueueMessage[] = [];

  readonly #logger: Logger;

  /** `logger`: where a message dropped after its deliveries is reported (default: JSON on the console). */
  constructor(options: { maxDeliveries?: number; logger?: Logger } = {}) {
    this.#maxDeliveries = options.maxDeliveries ?? 5;
    this.#logger = options.logger ?? createLogger({ level: "warn" });
  }

  listen(handler: QueueHandler): void {
    this.#handler = handler;
  }

  enqueue(message: QueueMessage, options: { delayMs?: number } = {}): Promise<void> {
    this.#schedule(structuredClone(message), options.delayMs ?? 0, 1);
    return Promise.resolve();
  }

  #schedule(message: QueueMessage, delayMs: number, delivery: number): void {
    const timers = message.type === "expiry" ? this.#watchTimers : this.#timers;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const run = this.#deliver(message, delivery).finally(() => {
        this.#running.delete(run);
        this.#checkIdle();
      });
      this.#running.add(run);
    }, delayMs);
    timers.add(timer);
  }

  async #deliver(message: QueueMessage, delivery: number): Promise<void> {
    if (!this.#handler) throw new Error("InProcessQueue: no handler; call listen() first.");
    this.delivered.push(message);
    try {
      await this.#handler(message);
    } catch (error) {
      if (delivery >= this.#maxDeliveries) {
        const { type, runId } = message;
        this.#logger.error("queue message dropped after retries", { type, runId, error: errorFields(error) });
        return;
      }
      this.#schedule(message, 2 ** delivery * 10, delivery + 1);
    }
  }

  #checkIdle(): void {
    const waiting = this.#idleWaiters;
    this.#idleWaiters = waiting.filter((waiter) => !this.#isIdle(waiter.watches));
    for (const waiter of waiting) if (!this.#idleWaiters.includes(waiter)) waiter.resolve();
  }

  #isIdle(watches: boolean): boolean {
    return this.#timers.size === 0 && this.#running.size === 0 && (!watches || this.#watchTimers.size === 0);
  }

  /**
   * Resolves once no message is scheduled or being handled; with `watches`, once no watch is scheduled either
   * (which, for a run that stays active, is only when it expires).
   */
  idle(options: { watches?: boolean } = {}): Promise<void> {
    const watches = options.watches ?? false;
    if (this.#isIdle(watches)) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push({ watches, resolve }));
  }

  /** Drops scheduled deliveries, watches included (those being handled finish). */
  close(): void {
    for (const timer of [...this.#timers, ...this.#watchTimers]) clearTimeout(timer);
    this.#timers.clear();
    this.#watchTimers.clear();
    this.#checkIdle();
  }
}
