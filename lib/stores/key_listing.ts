/**
 * An optional capability beside `StateStore` (./state_store.ts): listing the keys under a prefix, a page at a time.
 * The run layer never lists (a run finds its keys by name); maintenance does, to find what was written before the
 * layout or the expiry rules changed (lib/runs/shared_blob_sweep.ts). A store without it still type-checks as a
 * `StateStore`; `canListKeys` tells them apart.
 *
 * Semantics every implementation keeps (tests/stores/key_listing_conformance.ts):
 * - Keys come in ascending order (code units for ASCII keys; stores order by UTF-8 bytes), only those that start
 *   with `prefix`, at most `limit` per page, each with when it expires (`expiresAt`, epoch ms, or null for never).
 * - `cursor` is null on the last page; otherwise pass it back, with the same prefix, for the next page. A cursor is
 *   opaque and belongs to the store that gave it.
 * - A listing is not a snapshot: keys written or deleted between pages may or may not appear. Each key that exists
 *   and does not change from the first page to the last appears exactly once. An expired key never appears.
 * - Where a store cannot enumerate a prefix at all (the Durable Object store, for a prefix spanning objects), it
 *   throws `KeyListingError` (`unsupported`) before reading anything.
 */

import { SmolstepError } from "../errors.ts";

export interface ListedKey {
  key: string;
  /** Epoch ms after which the store drops the key; null when it was written without `expireIn`. */
  expiresAt: number | null;
}

export interface ListOptions {
  /** From a previous page's `cursor`; absent for the first page. */
  cursor?: string;
  /** Most keys in this page (default and ceiling {@link MAX_LIST_LIMIT}). */
  limit?: number;
}

export interface KeyPage {
  keys: ListedKey[];
  /** Pass back for the next page; null when this page was the last. */
  cursor: string | null;
}

export interface KeyListing {
  list(prefix: string, options?: ListOptions): Promise<KeyPage>;
}

/** Largest page a store returns (Workers KV's own ceiling). */
export const MAX_LIST_LIMIT = 1_000;

/** `limit` checked and defaulted: a whole number from 1 to {@link MAX_LIST_LIMIT}. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new RangeError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${limit}`);
  }
  return limit;
}

/** Whether `store` can list its keys (MemoryStore, DenoKvStore, CloudflareKvStore, DurableObjectStore). */
export function canListKeys<T extends object>(store: T): store is T & KeyListing {
  return typeof (store as Partial<KeyListing>).list === "function";
}

export type KeyListingErrorCode = "unsupported" | "invalid_cursor";

/** A listing the store cannot do (a prefix it cannot enumerate, a cursor it did not give). */
export class KeyListingError extends SmolstepError {
  override name = "KeyListingError";
  declare readonly code: KeyListingErrorCode;
  constructor(code: KeyListingErrorCode, message: string) {
    super(message, { code, retryable: false });
  }
}
