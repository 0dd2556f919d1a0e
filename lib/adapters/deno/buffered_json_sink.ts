/**
 * A log sink for servers on Deno: the same JSON lines on the same streams as `consoleJsonSink` (debug and info on
 * stdout, warn and error on stderr), but buffered and written with one asynchronous write per batch instead of one
 * blocking `console` write per line. A record is serialised when it is logged; the lines of one tick go out together
 * on the next timer tick (sooner once a batch passes `batchBytes`), in order, whole lines only.
 *
 * Nothing is lost on the way out: `flush()` writes everything still held (the Deno entry awaits it on SIGTERM and
 * SIGINT before exiting) and `install()` also writes what it can on `unload`. The buffer is bounded: while a stream
 * is stuck (a full pipe nobody reads), lines past `maxBufferBytes` are dropped and counted, and one line saying how
 * many were dropped (`"msg":"log.dropped"`, `dropped`) is written on that stream before the next line it takes.
 */

import type { LogRecord, LogSink } from "../../logging/logger.ts";

/** Where a stream's batches go: `Deno.stdout` and `Deno.stderr` fit; tests pass fakes. */
export interface LogWriter {
  /** Writes a prefix of `bytes` (at least one byte), resolving to how many. */
  write(bytes: Uint8Array): Promise<number>;
  /** Writes a prefix synchronously (used on `unload` only, when no asynchronous write is left to wait for). */
  writeSync?(bytes: Uint8Array): number;
}

export interface BufferedJsonSinkOptions {
  /** debug and info lines. Default `Deno.stdout`. */
  stdout?: LogWriter;
  /** warn and error lines. Default `Deno.stderr`. */
  stderr?: LogWriter;
  /** Text held per stream (written or waiting to be) before further lines are dropped. Default 4 MiB. */
  maxBufferBytes?: number;
  /** A batch this big is written at once instead of on the next timer tick. Default 64 KiB. */
  batchBytes?: number;
  /** How long the first line of a batch waits for others (ms). Default 0: the next timer tick. */
  flushDelayMs?: number;
  /** The clock of the dropped-lines note, in epoch milliseconds (tests). */
  now?: () => number;
}

export interface BufferedJsonSink {
  /** For `createLogger({ sink })`. */
  readonly sink: LogSink;
  /** Resolves once every line logged before the call has been written (or its write failed). */
  flush(): Promise<void>;
  /** Lines dropped so far because a stream's buffer was full or its write failed. */
  readonly dropped: number;
  /** Flushes on `beforeunload` and, as far as a synchronous write can, on `unload`. Returns the removal. */
  install(): () => void;
}

const encoder = new TextEncoder();

class Stream {
  /** Lines waiting for the next batch. */
  private pending: string[] = [];
  /** Characters held: waiting plus being written. */
  private held = 0;
  private droppedSince = 0;
  /** Dropped-lines notes among the waiting lines (not counted again if their write fails). */
  private notes = 0;
  droppedTotal = 0;
  private writing: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly writer: () => LogWriter,
    private readonly maxBytes: number,
    private readonly batchBytes: number,
    private readonly delayMs: number,
    private readonly now: () => number,
  ) {}

  push(line: string): void {
    if (this.held + line.length > this.maxBytes) {
      this.droppedSince++;
      this.droppedTotal++;
      return;
    }
    this.noteDropped();
    this.pending.push(line);
    this.held += line.length;
    if (this.held >= this.batchBytes) this.start();
    else this.timer ??= setTimeout(() => this.start(), this.delayMs);
  }

  /** Resolves when everything pushed so far is written. */
  async flush(): Promise<void> {
    this.noteDropped();
    while (this.writing || this.pending.length) {
      this.start();
      await this.writing;
    }
  }

  /** On unload: what is waiting, written synchronously, unless an asynchronous write still holds the stream. */
  flushSync(): void {
    this.noteDropped();
    const writer = this.writer();
    if (this.writing || !this.pending.length || !writer.writeSync) return;
    const bytes = encoder.encode(this.take());
    try {
      for (let at = 0; at < bytes.length;) at += writer.writeSync(bytes.subarray(at));
    } catch { /* the stream is gone */ }
  }

  /** One line saying how many lines were dropped, ahead of the next one taken. Exempt from the cap. */
  private noteDropped(): void {
    if (!this.droppedSince) return;
    const note: LogRecord = {
      time: new Date(this.now()).toISOString(),
      level: "warn",
      msg: "log.dropped",
      dropped: this.droppedSince,
    };
    this.droppedSince = 0;
    this.notes++;
    const line = JSON.stringify(note) + "\n";
    this.pending.push(line);
    this.held += line.length;
  }

  private take(): string {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.pending.join("");
    this.pending = [];
    this.notes = 0;
    return text;
  }

  /** Starts writing the waiting lines, unless a write is under way (it takes them when it ends). */
  private start(): void {
    if (this.writing || !this.pending.length) return;
    this.writing = this.drain().finally(() => this.writing = undefined);
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      const lines = this.pending.length - this.notes;
      const text = this.take();
      const bytes = encoder.encode(text);
      try {
        const writer = this.writer();
        for (let at = 0; at < bytes.length;) at += await writer.write(bytes.subarray(at));
      } catch {
        // A closed or broken stream: the batch is lost; say so on the next line that makes it.
        this.droppedSince += lines;
        this.droppedTotal += lines;
      }
      this.held -= text.length;
    }
  }
}

/** A {@link BufferedJsonSink} over `Deno.stdout` and `Deno.stderr` (or the writers given). */
export function createBufferedJsonSink(options: BufferedJsonSinkOptions = {}): BufferedJsonSink {
  const max = options.maxBufferBytes ?? 4 * 1024 * 1024;
  const batch = options.batchBytes ?? 64 * 1024;
  const delay = options.flushDelayMs ?? 0;
  const now = options.now ?? Date.now;
  const out = new Stream(() => options.stdout ?? Deno.stdout, max, batch, delay, now);
  const err = new Stream(() => options.stderr ?? Deno.stderr, max, batch, delay, now);
  const flush = () => Promise.all([out.flush(), err.flush()]).then(() => {});
  return {
    sink: (record) => {
      const line = JSON.stringify(record) + "\n";
      (record.level === "error" || record.level === "warn" ? err : out).push(line);
    },
    flush,
    get dropped() {
      return out.droppedTotal + err.droppedTotal;
    },
    install() {
      const onBeforeUnload = () => void flush();
      const onUnload = () => {
        out.flushSync();
        err.flushSync();
      };
      globalThis.addEventListener("beforeunload", onBeforeUnload);
      globalThis.addEventListener("unload", onUnload);
      return () => {
        globalThis.removeEventListener("beforeunload", onBeforeUnload);
        globalThis.removeEventListener("unload", onUnload);
      };
    },
  };
}
