/**
 * In-process `StateStore` for tests and local development. Nothing survives a restart and nothing is shared
 * between isolates.
 *
 * Compare-and-set is atomic: each operation reads and writes the map without awaiting in between, so no other
 * caller can interleave. Versions come from one counter per store, so a key that is deleted and written again
 * never gets back a version it had before.
 */

import type { PutOptions, PutResult, StateStore, StoredValue } from "./state_store.ts";

interface Entry {
  value: string;
  version: string;
  /** Epoch milliseconds after which the entry counts as gone; undefined = never. */
  expiresAt?: number;
}

export interface MemoryStoreOptions {
  /** Clock in epoch milliseconds; tests can pass a fake one to exercise `expireIn`. */
  now?: () => number;
}

export class MemoryStore implements StateStore {
  readonly atomic = true;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #counter = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  get(key: string): Promise<StoredValue | null> {
    const entry = this.#live(key);
    return Promise.resolve(
      entry ? { value: entry.value, version: entry.version } : null,
    );
  }

  put(
    key: string,
    value: string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const { expectedVersion, expireIn } = options;
    const current = this.#live(key);
    if (
      expectedVersion !== undefined &&
      (current?.version ?? null) !== expectedVersion
    ) {
      return Promise.resolve({ ok: false });
    }
    const version = String(++this.#counter);
    const expiresAt = expireIn === undefined ? undefined : this.#now() + expireIn * 1000;
    this.#entries.set(key, { value, version, expiresAt });
    return Promise.resolve({ ok: true, version });
  }

  delete(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  /** Number of stored entries, expired ones included until they are next touched (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry if present and not expired; drops it lazily once expired. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry?.expiresAt !== undefined && this.#now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
