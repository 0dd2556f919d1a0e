/**
 * Items pushed by a callback (a delta listener, a step's `onDelta`), taken by a generator that waits for the next
 * one, a timeout, an abort or a promise. With `wakes: false` a push only queues its item: the waiter is woken by its
 * own timer, never by the pusher (on Workers the pusher may be another request, whose context must not wake this one).
 */
export class PendingItems<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  readonly #wakes: boolean;

  constructor(options: { wakes?: boolean } = {}) {
    this.#wakes = options.wakes ?? true;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#wakes) this.#wake?.();
  }

  take(): T[] {
    return this.#items.splice(0);
  }

  /** Resolves when an item is there (if pushes wake), after `ms`, when `signal` aborts, or when `settled` settles. */
  wait(ms: number, signal: AbortSignal, settled?: Promise<unknown>): Promise<void> {
    if ((this.#wakes && this.#items.length) || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      const onAbort = () => done();
      signal.addEventListener("abort", onAbort, { once: true });
      settled?.then(done, done);
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve();
      }
    }).finally(() => this.#wake = undefined);
  }
}
