/**
 * In-process `StateStore` for tests and local development. Nothing survives a restart and nothing is shared
 * between isolates.
 *
 * Compare-and-set is atomic: each operation reads and writes the map without awaiting in between, so no other
 * caller can interleave. Versions come from one counter per store, so a key that is deleted and written again
 * never gets back a version it had before.
 *
 * Bounded. A value may be at most `maxValueBytes` of UTF-8 ({@link MEMORY_STORE_MAX_VALUE_BYTES} = 720,000 by
 * default: the same as `DenoKvStore`, the strictest store, so what works in development fits everywhere), and
 * all live keys and values together at most `maxTotalBytes` of UTF-8 ({@link MEMORY_STORE_MAX_TOTAL_BYTES} =
 * 256 MiB by default; the heap holds strings as UTF-16, so at most about twice that). A write over either throws
 * `StoreLimitError` (`value_too_large` or `store_full`) and changes nothing; expired entries are swept first.
 *
 * Expiry. An expired entry reads as missing at once and is dropped when touched; besides, a write sweeps every
 * expired entry at most once per {@link MEMORY_STORE_SWEEP_INTERVAL_MS}, so entries nobody reads again (finished
 * runs, their blobs) do not hold memory until the store is full. No timer: the sweep rides on writes.
 */

import type { PutOptions, PutResult, StateStore, StoredValue } from "./state_store.ts";
import { type KeyListing, type KeyPage, listLimit, type ListOptions } from "./key_listing.ts";
import { checkValueSize, StoreLimitError, utf8Length } from "./store_limit_error.ts";

/** Default `maxValueBytes`: `DenoKvStore`'s ceiling. */
export const MEMORY_STORE_MAX_VALUE_BYTES = 720_000;
/** Default `maxTotalBytes`: 256 MiB of UTF-8 over all keys and values. */
export const MEMORY_STORE_MAX_TOTAL_BYTES = 256 * 1_048_576;
/** Writes sweep expired entries at most this often (ms of the store's clock). */
export const MEMORY_STORE_SWEEP_INTERVAL_MS = 60_000;

interface Entry {
  value: string;
  version: string;
  /** Epoch milliseconds after which the entry counts as gone; undefined = never. */
  expiresAt?: number;
  /** UTF-8 bytes of key and value, as counted against `maxTotalBytes`. */
  bytes: number;
}

export interface MemoryStoreOptions {
  /** Clock in epoch milliseconds; tests can pass a fake one to exercise `expireIn`. */
  now?: () => number;
  /** Largest value in UTF-8 bytes; default {@link MEMORY_STORE_MAX_VALUE_BYTES}. */
  maxValueBytes?: number;
  /** Largest sum of all keys and values in UTF-8 bytes; default {@link MEMORY_STORE_MAX_TOTAL_BYTES}. */
  maxTotalBytes?: number;
}

export class MemoryStore implements StateStore, KeyListing {
  readonly atomic = true;
  readonly maxValueBytes: number;
  readonly maxTotalBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #counter = 0;
  #total = 0;
  #nextSweep = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.maxValueBytes = options.maxValueBytes ?? MEMORY_STORE_MAX_VALUE_BYTES;
    this.maxTotalBytes = options.maxTotalBytes ?? MEMORY_STORE_MAX_TOTAL_BYTES;
  }

  get(key: string): Promise<StoredValue | null> {
    const entry = this.#live(key);
    return Promise.resolve(
      entry ? { value: entry.value, version: entry.version } : null,
    );
  }

  /** All keys read in one synchronous pass: one instant. */
  getMany(keys: string[]): Promise<(StoredValue | null)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    try {
      return Promise.resolve(this.#put(key, value, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #put(key: string, value: string, options: PutOptions): PutResult {
    const { expectedVersion, expireIn } = options;
    const valueBytes = checkValueSize("MemoryStore", key, value, this.maxValueBytes);
    if (this.#now() >= this.#nextSweep) {
      this.#sweep();
      this.#nextSweep = this.#now() + MEMORY_STORE_SWEEP_INTERVAL_MS;
    }
    const current = this.#live(key);
    if (
      expectedVersion !== undefined &&
      (current?.version ?? null) !== expectedVersion
    ) {
      return { ok: false };
    }
    const bytes = utf8Length(key) + valueBytes;
    if (this.#total - (current?.bytes ?? 0) + bytes > this.maxTotalBytes) {
      this.#sweep();
      const total = this.#total - (current?.bytes ?? 0) + bytes;
      if (total > this.maxTotalBytes) {
        throw new StoreLimitError(
          "store_full",
          valueBytes,
          this.maxTotalBytes,
          `MemoryStore: writing "${
            key.slice(0, 200)
          }" would bring the store to ${total} bytes; the limit is ${this.maxTotalBytes}`,
        );
      }
    }
    const version = String(++this.#counter);
    const expiresAt = expireIn === undefined ? undefined : this.#now() + expireIn * 1000;
    this.#remove(key);
    this.#entries.set(key, { value, version, expiresAt, bytes });
    this.#total += bytes;
    return { ok: true, version };
  }

  delete(key: string): Promise<void> {
    this.#remove(key);
    return Promise.resolve();
  }

  /**
   * Keys under `prefix` in code-unit order, live ones only; the cursor is the last key of the page (the next page
   * starts after it), so it stays valid whatever is written or deleted in between.
   */
  list(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    try {
      return Promise.resolve(this.#list(prefix, listLimit(options.limit), options.cursor));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #list(prefix: string, limit: number, after: string | undefined): KeyPage {
    const keys = [...this.#entries.keys()]
      .filter((key) => key.startsWith(prefix) && (after === undefined || key > after) && this.#live(key))
      .sort();
    const page = keys.slice(0, limit).map((key) => ({ key, expiresAt: this.#entries.get(key)!.expiresAt ?? null }));
    return { keys: page, cursor: keys.length > limit ? page[page.length - 1].key : null };
  }

  /** UTF-8 bytes of all keys and values held, expired ones included until they are next touched. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Number of stored entries, expired ones included until they are next touched (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry if present and not expired; drops it lazily once expired. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry?.expiresAt !== undefined && this.#now() >= entry.expiresAt) {
      this.#remove(key);
      return undefined;
    }
    return entry;
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#total -= entry.bytes;
  }

  /** Drops every expired entry (before refusing a write for lack of room). */
  #sweep(): void {
    for (const key of [...this.#entries.keys()]) this.#live(key);
  }
}
