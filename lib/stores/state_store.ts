/**
 * The storage seam: a key-value store of strings with compare-and-set.
 *
 * Every backend (memory, Deno KV, Workers KV, Durable Object) implements this and passes the conformance suite in
 * `tests/stores/`. The run layer builds locking and idempotency on `put` with `expectedVersion`.
 */

export interface StoredValue {
  value: string;
  /** Opaque version token; changes on every successful write. */
  version: string;
}

export interface PutOptions {
  /**
   * Compare-and-set: `null` means "only if the key does not exist"; a version means "only if the stored version
   * is still this one"; `undefined` writes unconditionally.
   */
  expectedVersion?: string | null;
  /** Seconds after which the value may be dropped (best effort; not all backends honour it). */
  expireIn?: number;
}

export type PutResult = { ok: true; version: string } | { ok: false };

export interface StateStore {
  get(key: string): Promise<StoredValue | null>;
  put(key: string, value: string, options?: PutOptions): Promise<PutResult>;
  delete(key: string): Promise<void>;
  /**
   * Whether `put` with `expectedVersion` is atomic. Workers KV is not (eventual consistency): with it, two
   * concurrent writers can both succeed. Callers may surface this; the conformance suite only checks the
   * single-writer semantics for such stores.
   */
  readonly atomic: boolean;
}
