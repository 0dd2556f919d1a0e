/**
 * The storage seam: a key-value store of strings with compare-and-set.
 *
 * Every backend (memory, Deno KV, Workers KV, Durable Object) implements this and passes the conformance suite in
 * `tests/stores/`. The run layer builds locking and idempotency on `put` with `expectedVersion`. A write that does
 * not fit (`maxValueBytes`, or a memory cap) throws `StoreLimitError` (./store_limit_error.ts) and changes nothing.
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
  /**
   * The values of several keys, in the order asked (null where missing), in as few round trips as the backend
   * allows (one for a run's record and its cancel flag on Deno KV and on Durable Objects). Each value is read
   * whole and consistent on its own, as `get` would return it; the keys are not promised one common snapshot.
   */
  getMany(keys: string[]): Promise<(StoredValue | null)[]>;
  put(key: string, value: string, options?: PutOptions): Promise<PutResult>;
  delete(key: string): Promise<void>;
  /**
   * Whether `put` with `expectedVersion` is atomic. Workers KV is not (eventual consistency): with it, two
   * concurrent writers can both succeed. Callers may surface this; the conformance suite only checks the
   * single-writer semantics for such stores.
   */
  readonly atomic: boolean;
  /**
   * Largest value (UTF-8 bytes) `put` accepts. A larger one is refused with `StoreLimitError` before anything is
   * written. The run layer keeps each run record under it (see `RunService`).
   */
  readonly maxValueBytes: number;
}
