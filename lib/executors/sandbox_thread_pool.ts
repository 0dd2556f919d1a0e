/**
 * A small pool of sandbox threads for the isolated executor. Threads start on first use and `size` of them stay
 * warm while idle; up to `max` run steps at once and further steps wait their turn. A killed or crashed thread is
 * dropped and, if it had started well, replaced, so the pool stays warm without spinning on a thread that can
 * never start. A killed thread that is still busy (Deno cannot interrupt a running worker; it stops itself at its
 * next interrupt check) keeps its place in `max` until it has let go, so stuck threads can never pile up.
 */

import type { HostMessage, SandboxThread, SpawnSandboxThread, ThreadMessage } from "./sandbox_thread_protocol.ts";
import { ANSWERED, answerSync, createThreadChannel, isRunning, requestStop } from "./thread_channel.ts";
import { errorMessage, failureEnvelope } from "./value_bridge.ts";

export interface ThreadPoolOptions {
  spawn: SpawnSandboxThread;
  /** The compiled QuickJS module every thread receives. */
  wasm: () => Promise<WebAssembly.Module>;
  /** Largest synchronous host-module answer, in bytes. */
  maxAnswerBytes: number;
  /** Threads kept warm while idle. */
  size: number;
  /** Threads running at once. */
  max: number;
}

/** One thread of the pool and the step (if any) listening to it. */
export class PooledThread {
  readonly channel: SharedArrayBuffer;
  /** Settles when the thread has received the QuickJS module; rejects if it dies first. */
  readonly ready: Promise<void>;
  /** The running step's handlers. */
  onMessage?: (message: ThreadMessage) => void;
  onExit?: (reason: string) => void;
  started = false;
  exited = false;
  /** The runtime reported the thread gone (Node does after `terminate()`; Deno never does). */
  gone = false;
  #thread?: SandboxThread;
  #idle = false;

  constructor(options: ThreadPoolOptions, onExit: (thread: PooledThread, reason: string) => void) {
    this.channel = createThreadChannel(options.maxAnswerBytes);
    let started!: () => void;
    let failed!: (error: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => [started, failed] = [resolve, reject]);
    this.ready.catch(() => {});
    const exit = (reason: string) => {
      if (this.exited) return;
      this.exited = true;
      requestStop(this.channel);
      this.#refuseCall();
      this.#thread?.terminate();
      failed(new Error(`The sandbox thread could not start: ${reason}`));
      this.onExit?.(reason);
      onExit(this, reason);
    };
    this.exit = exit;
    options.wasm().then((wasm) => {
      if (this.exited) return;
      this.#thread = options.spawn({
        message: (message) => {
          if (message.type === "ready") {
            this.started = true;
            return started();
          }
          if (this.onMessage) return this.onMessage(message);
          if (message.type === "module") this.#refuseCall();
        },
        error: (reason) => {
          this.gone = true;
          exit(reason);
        },
      });
      this.#thread.postMessage({ type: "start", wasm, channel: this.channel });
      if (this.#idle) this.#thread.idle?.(true);
    }).catch((error) => exit(errorMessage(error)));
  }

  /** Asks the thread to stop, terminates it (where the runtime can) and tells the running step why. */
  readonly exit: (reason: string) => void;

  /** Wakes the thread if it waits on a host-module answer no step will give (the step is over). */
  #refuseCall(): void {
    answerSync(this.channel, ANSWERED, failureEnvelope("the step is over"));
  }

  post(message: HostMessage): void {
    this.#thread!.postMessage(message);
  }

  idle(idle: boolean): void {
    this.#idle = idle;
    this.#thread?.idle?.(idle);
  }
}

export class SandboxThreadPool {
  #all = new Set<PooledThread>();
  #idle: PooledThread[] = [];
  #waiting: { resolve: (thread: PooledThread) => void; reject: (error: unknown) => void }[] = [];
  /** Killed threads still inside a step; they count against `max`. */
  #stuck = new Set<PooledThread>();
  #sweeper?: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(readonly options: ThreadPoolOptions) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Threads alive now (idle or busy), not counting stuck ones. */
  get threads(): number {
    return this.#all.size;
  }

  /** Killed threads still running their step (Deno: until their next interrupt check). */
  get stuckThreads(): number {
    return this.#stuck.size;
  }

  /** Starts the warm threads and waits until they can take a step. */
  async warm(): Promise<void> {
    while (!this.#closed && this.#all.size < this.options.size && this.#hasRoom()) this.#idle.push(this.#spawnIdle());
    await Promise.all(this.#idle.map((thread) => thread.ready));
  }

  /**
   * A thread for one step, a started one if any is idle; waits while all are busy. Rejects if the signal aborts
   * first. The thread may still be starting: the step awaits its `ready` (as part of its set-up).
   */
  async acquire(signal?: AbortSignal): Promise<PooledThread> {
    if (this.#closed) throw new Error("The executor is closed");
    void this.warm().catch(() => {});
    // A started thread first (the newest idle one may still be starting).
    const startedAt = this.#idle.findLastIndex((t) => t.started);
    let thread = startedAt >= 0 ? this.#idle.splice(startedAt, 1)[0] : this.#idle.pop();
    if (!thread && this.#hasRoom()) thread = this.#spawn();
    thread ??= await this.#wait(signal);
    thread.idle(false);
    return thread;
  }

  /** Returns a thread after its step; it serves the next waiting step or idles warm. */
  release(thread: PooledThread): void {
    thread.onMessage = thread.onExit = undefined;
    if (thread.exited) return;
    const next = this.#waiting.shift();
    if (next) return next.resolve(thread);
    if (this.#closed || this.#idle.length >= this.options.size) return thread.exit("the pool has enough idle threads");
    thread.idle(true);
    this.#idle.push(thread);
  }

  /** Terminates every thread; running steps end with a crash result, waiting ones are refused. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error("The executor is closed"));
    for (const thread of [...this.#all]) thread.exit("the executor was closed");
    this.#idle = [];
    this.#stuck.clear();
    clearInterval(this.#sweeper);
  }

  #hasRoom(): boolean {
    return this.#all.size + this.#stuck.size < this.options.max;
  }

  /** Forgets stuck threads that have let go, and gives their room to waiting steps. */
  #sweep(): void {
    for (const thread of this.#stuck) if (thread.gone || !isRunning(thread.channel)) this.#stuck.delete(thread);
    if (this.#stuck.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
    while (this.#waiting.length && this.#hasRoom()) this.#waiting.shift()!.resolve(this.#spawn());
  }

  #spawnIdle(): PooledThread {
    const thread = this.#spawn();
    thread.idle(true);
    return thread;
  }

  #spawn(): PooledThread {
    const thread = new PooledThread(this.options, (gone, reason) => this.#gone(gone, reason));
    this.#all.add(thread);
    return thread;
  }

  /** A thread exited (killed, crashed, closed, or surplus): replace it if it had worked and a step needs one. */
  #gone(thread: PooledThread, reason: string): void {
    this.#all.delete(thread);
    this.#idle = this.#idle.filter((t) => t !== thread);
    if (this.#closed) return;
    if (!thread.gone && isRunning(thread.channel)) {
      this.#stuck.add(thread);
      this.#sweeper ??= setInterval(() => this.#sweep(), 100);
    }
    if (!thread.started) {
      const error = new Error(`The sandbox thread could not start: ${reason}`);
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
      return;
    }
    const next = this.#hasRoom() ? this.#waiting.shift() : undefined;
    if (next) next.resolve(this.#spawn());
    else if (this.#all.size < this.options.size && this.#hasRoom()) this.#idle.push(this.#spawnIdle());
  }

  #wait(signal?: AbortSignal): Promise<PooledThread> {
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (thread: PooledThread) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(thread);
        },
        reject,
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }
}
