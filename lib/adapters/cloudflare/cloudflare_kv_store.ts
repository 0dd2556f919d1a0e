/**
 * `StateStore` over a Cloudflare Workers KV namespace. The only file that touches a `KVNamespace`; the binding
 * is passed in (`new CloudflareKvStore(env.STATE)`).
 *
 * NOT ATOMIC (`atomic = false`). Workers KV is eventually consistent: a write can take 60 seconds or more to
 * reach other locations, and reads are served from edge caches. Compare-and-set here is read-then-write: the
 * version is read from the entry's metadata, compared, and the new value is put. Two writers that read the same
 * version can both "win", and a reader elsewhere can see an older value. This is no lock; it only catches the
 * plain single-writer mistakes (stale client, replayed request). Runs that need real locking need the Durable
 * Object store (planned), which is strongly consistent.
 *
 * Values go in as-is (Workers KV takes up to 25 MiB per value, so no chunking); a larger one is refused with
 * `StoreLimitError` before it is sent ({@link WORKERS_KV_MAX_VALUE_BYTES}, `maxValueBytes`). The version is a random id kept
 * in the entry's metadata (`{ v }`, well under the 1,024-byte metadata limit). Keys are used verbatim: Workers
 * KV allows up to 512 bytes of UTF-8 per key, and rejects "", "." and "..". `expireIn` maps to `expirationTtl`,
 * which Cloudflare requires to be at least 60 seconds: shorter times are raised to 60, and fractions rounded up.
 */

import type { PutOptions, PutResult, StateStore, StoredValue } from "../../stores/state_store.ts";
import { checkValueSize } from "../../stores/store_limit_error.ts";
import type { KeyListing, KeyPage, ListOptions } from "../../stores/key_listing.ts";
import { KeyListingError, listLimit } from "../../stores/key_listing.ts";

/** Metadata stored with every value. */
interface VersionMetadata {
  v: string;
}

/**
 * The part of a Workers `KVNamespace` this store uses, typed structurally so `lib/` needs no
 * `@cloudflare/workers-types`. A real binding (and Miniflare's) satisfies it.
 */
export interface WorkersKvNamespace {
  getWithMetadata<Metadata = unknown>(
    key: string,
    options: { type: "text"; cacheTtl?: number },
  ): Promise<{ value: string | null; metadata: Metadata | null }>;
  put(
    key: string,
    value: string,
    options?: {
      expirationTtl?: number;
      expiration?: number;
      metadata?: unknown;
    },
  ): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys by prefix, a page at a time (`expiration` in epoch seconds where the key has one). Optional for fakes. */
  list?(options: { prefix?: string; limit?: number; cursor?: string }): Promise<{
    keys: { name: string; expiration?: number }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

/**
 * Workers KV's bulk read: `getWithMetadata` with an array of up to 100 keys answers a `Map` from key to
 * `{ value, metadata }` (null, or a null value, where missing). Real bindings and Miniflare have it since 2025;
 * it is not part of {@link WorkersKvNamespace}, so a binding (or a fake) without it still fits, and `getMany`
 * then reads the keys in parallel instead.
 */
interface BulkReadNamespace {
  getWithMetadata(
    keys: string[],
    options: { type: "text" },
  ): Promise<Map<string, { value: string | null; metadata: VersionMetadata | null } | null> | unknown>;
}

/** Keys per bulk read (Cloudflare's limit). */
const BULK_READ_KEYS = 100;

/** Cloudflare's minimum `expirationTtl`, in seconds. */
export const WORKERS_KV_MIN_TTL_SECONDS = 60;

/** Workers KV's largest value: 25 MiB. */
export const WORKERS_KV_MAX_VALUE_BYTES = 25 * 1_048_576;

/** Version reported for a value written without our metadata (by another tool, say). */
const UNVERSIONED = "unversioned";

export class CloudflareKvStore implements StateStore, KeyListing {
  readonly atomic = false;
  readonly maxValueBytes = WORKERS_KV_MAX_VALUE_BYTES;
  readonly #kv: WorkersKvNamespace;
  /** Whether the binding answered a bulk read with a Map; false after one that did not (an older runtime). */
  #bulk = true;

  constructor(kv: WorkersKvNamespace) {
    this.#kv = kv;
  }

  async get(key: string): Promise<StoredValue | null> {
    const { value, metadata } = await this.#kv.getWithMetadata<VersionMetadata>(
      key,
      { type: "text" },
    );
    if (value === null) return null;
    return { value, version: metadata?.v ?? UNVERSIONED };
  }

  /** One bulk read per 100 keys where the binding has it, else one read per key, all at once. */
  async getMany(keys: string[]): Promise<(StoredValue | null)[]> {
    if (keys.length > 1 && this.#bulk) {
      const found = new Map<string, { value: string | null; metadata: VersionMetadata | null } | null>();
      for (let start = 0; start < keys.length && this.#bulk; start += BULK_READ_KEYS) {
        const batch = [...new Set(keys.slice(start, start + BULK_READ_KEYS))];
        const answer = await (this.#kv as unknown as BulkReadNamespace).getWithMetadata(batch, { type: "text" });
        if (answer instanceof Map) { for (const [key, entry] of answer) found.set(key, entry); }
        else this.#bulk = false;
      }
      if (this.#bulk) {
        return keys.map((key) => {
          const entry = found.get(key);
          if (!entry || entry.value === null) return null;
          return { value: entry.value, version: entry.metadata?.v ?? UNVERSIONED };
        });
      }
    }
    return await Promise.all(keys.map((key) => this.get(key)));
  }

  async put(
    key: string,
    value: string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const { expectedVersion, expireIn } = options;
    checkValueSize("CloudflareKvStore", key, value, WORKERS_KV_MAX_VALUE_BYTES);
    if (expectedVersion !== undefined) {
      // Read-then-write: see the module comment for why this is not a real compare-and-set.
      const current = await this.get(key);
      if ((current?.version ?? null) !== expectedVersion) return { ok: false };
    }
    const version = crypto.randomUUID();
    const metadata: VersionMetadata = { v: version };
    await this.#kv.put(
      key,
      value,
      expireIn === undefined ? { metadata } : { metadata, expirationTtl: ttl(expireIn) },
    );
    return { ok: true, version };
  }

  async delete(key: string): Promise<void> {
    await this.#kv.delete(key);
  }

  /**
   * One `kv.list` per page: keys only (values are not read), each with its `expiration`. Eventually consistent like
   * everything here: a key written in the last minute elsewhere may be missing from the page.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    const limit = listLimit(options.limit);
    if (!this.#kv.list) throw new KeyListingError("unsupported", "CloudflareKvStore: the binding cannot list");
    const page = await this.#kv.list({ prefix, limit, cursor: options.cursor });
    const now = Date.now();
    const keys = page.keys
      .map(({ name, expiration }) => ({ key: name, expiresAt: expiration === undefined ? null : expiration * 1000 }))
      .filter(({ expiresAt }) => expiresAt === null || expiresAt > now);
    return { keys, cursor: page.list_complete ? null : page.cursor ?? null };
  }
}

/** Seconds for `expirationTtl`: a whole number, no less than Cloudflare's minimum. */
function ttl(expireIn: number): number {
  return Math.max(WORKERS_KV_MIN_TTL_SECONDS, Math.ceil(expireIn));
}
