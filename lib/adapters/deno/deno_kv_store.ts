/**
 * `StateStore` over Deno KV (local SQLite, `:memory:`, or Deno Deploy). The only file that touches `Deno.Kv`;
 * the handle is passed in, so the store runs wherever the caller opened one.
 *
 * Layout under the prefix (default `["smolstep"]`):
 *   [...prefix, "v", key]      head: { g: generation id, n: chunk count, d: first chunk, e?: expiry epoch ms }
 *   [...prefix, "c", key, i]   chunk i (1 <= i < n): { g, d }
 * Values are stored as UTF-8 bytes in chunks of at most 60,000 bytes, below Deno KV's 64 KiB value limit. Most
 * states fit in the head alone (one key, one read). The version is the head's versionstamp.
 *
 * Every write is ONE atomic operation and, normally, ONE round trip: no read before it. Writes that arrive while
 * others are being committed share one atomic operation (group commit, `deno_kv_commit_batcher.ts`: on a local
 * file every commit waits for the disk), each still judged by its own check. A compare-and-set is a
 * check of the head's versionstamp (`expectedVersion`, or its absence for `null`). The operation sets the new
 * head and every new chunk, and deletes the chunks of the old value beyond the new count. The old count is
 * known without a read when this store read or wrote the version being checked (it remembers the chunk count
 * of the last version per key, for 1,024 keys); a create replaces no chunks; otherwise every chunk index up to
 * {@link DENO_KV_MAX_CHUNKS} - 1 is deleted blindly (deleting an absent key is a no-op). An unconditional put
 * checks the version it remembers, and only if another writer replaced it writes again without a check,
 * deleting blindly. `delete` deletes the head and every chunk index blindly. A reader reads the head
 * (`getMany`: up to 10 heads in one read), then the chunks, and accepts them only if every chunk carries the
 * head's generation id; otherwise a writer got in between, and it starts over on that key (a bounded number of
 * times). Writes that meet SQLite's "database is locked" (several connections or processes on one file, e.g.
 * `deno serve --parallel`) back off briefly and commit again.
 *
 * Size ceiling. Deno KV (as enforced by the Deno 2 runtime and the denokv server) limits one atomic operation
 * to 819,200 bytes (800 KiB) of payload, counted as every check key and mutation key, plus each set's key again
 * and its value; to 81,920 bytes (80 KiB) of set keys; to 1,000 mutations; and to 100 checks (10 on denokv; we
 * use at most 1). A key is at most 2,048 bytes, a value at most 65,536 bytes, and one read at most 10 keys. The
 * payload budget binds first, so a value is capped at {@link DENO_KV_MAX_VALUE_BYTES} = 12 chunks = 720,000
 * bytes of UTF-8. A write of n chunks carries 1 check, n sets (keys counted twice) and at most 12 - n deletes:
 * at most 13 + n key charges, so at most 25 (n = 12, when there is nothing to delete), and at most 12
 * mutations. That leaves ~99 KB for keys beside the largest value: 25 key charges of a store key up to ~2,000
 * bytes, which is also the longest store key the 2,048-byte key limit allows once the prefix is added. Larger values throw a `StoreLimitError`
 * before anything is written; store them by reference instead. `maxValueBytes` reports the
 * ceiling.
 *
 * Expiry. `expireIn` (seconds) maps to Deno KV's `expireIn` on every key of the value, and is also checked on
 * read (the head keeps the deadline), because Deno KV may keep an expired key visible for a while. Such a key
 * reads as missing, and a create-if-missing (`expectedVersion: null`) that meets it reads the head once and
 * writes over it. A compare-and-set against the version of a value that has just expired, while Deno KV still
 * shows it, may succeed (the check sees the versionstamp, not the deadline).
 *
 * Strings are stored as UTF-8, so a lone UTF-16 surrogate comes back as U+FFFD (`JSON.stringify` output never
 * has one).
 */

import { concatBytes } from "../../bytes.ts";
import { BUSY, commitBatcher, type KvCommitBatcher, type KvWrite } from "./deno_kv_commit_batcher.ts";
import type { PutOptions, PutResult, StateStore, StoredValue } from "../../stores/state_store.ts";
import { checkValueSize } from "../../stores/store_limit_error.ts";
import type { KeyListing, KeyPage, ListOptions } from "../../stores/key_listing.ts";
import { KeyListingError, listLimit } from "../../stores/key_listing.ts";

/** Bytes of UTF-8 per chunk: under the 65,536-byte value limit with room for the entry's own fields. */
export const DENO_KV_CHUNK_BYTES = 60_000;
/** Most chunks per value; see the module comment for how this follows from the atomic-operation limits. */
export const DENO_KV_MAX_CHUNKS = 12;
/** Largest value (UTF-8 bytes) a `DenoKvStore` accepts. */
export const DENO_KV_MAX_VALUE_BYTES = DENO_KV_CHUNK_BYTES * DENO_KV_MAX_CHUNKS;

/** Deno KV reads at most 10 keys per `getMany`. */
const READ_BATCH = 10;
/** Reads restart this many times when writers keep replacing the value underneath. */
const READ_ATTEMPTS = 8;
/** Writes retry this many times on a locked SQLite file (or after a check that failed for want of knowledge). */
const WRITE_ATTEMPTS = 32;

interface Head {
  g: string;
  n: number;
  d: Uint8Array;
  e?: number;
}

interface Chunk {
  g: string;
  d: Uint8Array;
}

/**
 * A write's share of an atomic operation's payload, estimated high for the batcher: every key it names (the check,
 * each set twice, each delete) at up to 3 bytes per character plus the prefix, and each entry's fields beside the
 * data. A batch that still exceeds Deno KV's limits is refused whole, and its writes are then committed one by one.
 */
function estimateBytes(key: string, keys: number, dataBytes: number): number {
  return keys * (3 * key.length + 128) + dataBytes + keys * 64;
}

/** Chunk counts remembered per key (see `#known`). */
const KNOWN_KEYS = 1_024;

/** What a write checks, and how many chunks the value it replaces has (DENO_KV_MAX_CHUNKS when unknown). */
interface WritePlan {
  check: string | null | undefined;
  replaces: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class DenoKvStore implements StateStore, KeyListing {
  readonly atomic = true;
  readonly maxValueBytes = DENO_KV_MAX_VALUE_BYTES;
  readonly #kv: Deno.Kv;
  readonly #batcher: KvCommitBatcher;
  readonly #prefix: Deno.KvKey;
  /**
   * Key -> the chunk count of the version this store last read or wrote (the most recent {@link KNOWN_KEYS}).
   * A versionstamp names one write, so when a write checks that version its old chunks are known exactly and
   * only the surplus is deleted; without this, every write would delete all 11 possible chunk keys blindly,
   * which costs about as much as the read it replaces.
   */
  readonly #known = new Map<string, { version: string; n: number }>();

  constructor(kv: Deno.Kv, prefix: Deno.KvKey = ["smolstep"]) {
    this.#kv = kv;
    this.#batcher = commitBatcher(kv);
    this.#prefix = prefix;
  }

  async get(key: string): Promise<StoredValue | null> {
    return (await this.getMany([key]))[0];
  }

  /**
   * One `kv.getMany` for the heads (per 10 keys), then the chunks of the values that have any. A value whose
   * chunks do not match its head (a writer got in between) is read again on its own.
   */
  async getMany(keys: string[]): Promise<(StoredValue | null)[]> {
    const results: (StoredValue | null)[] = [];
    for (let start = 0; start < keys.length; start += READ_BATCH) {
      const batch = keys.slice(start, start + READ_BATCH);
      const heads = await this.#kv.getMany<Head[]>(batch.map((key) => this.#headKey(key)));
      for (const [i, head] of heads.entries()) results.push(await this.#assemble(batch[i], head));
    }
    return results;
  }

  /**
   * The value `head` starts, or null if missing; re-reads when its chunks are of another write. A re-read takes the
   * head and its first chunks in one `getMany`, which Deno KV answers from one snapshot, so a value of up to
   * READ_BATCH chunks is then read whole however fast writers replace it.
   */
  async #assemble(key: string, head: Deno.KvEntryMaybe<Head>): Promise<StoredValue | null> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      let chunks: Deno.KvEntryMaybe<Chunk>[] | undefined;
      if (attempt > 0) [head, chunks] = await this.#readSnapshot(key);
      if (!isLive(head)) return null;
      const parts = chunks && head.value.n <= READ_BATCH
        ? fromSnapshot(head.value, chunks)
        : await this.#readChunks(key, head.value);
      if (parts) this.#remember(key, head.versionstamp, head.value.n);
      if (parts) return { value: decoder.decode(concatBytes(...parts)), version: head.versionstamp };
    }
    throw new Error(
      `DenoKvStore: "${key}" chunks did not match the head in ${READ_ATTEMPTS} read attempts`,
    );
  }

  /**
   * One atomic commit, with no read before it. The compare-and-set is a check of the head's versionstamp against
   * `expectedVersion` (or of its absence, for `null`). The chunks the old value had beyond the new one's are
   * deleted in the same commit: exactly those when this store knows the version checked (it read or wrote it:
   * `#known`), none for a create (no head, so no chunks but leftovers of an expired value, which expire too),
   * else every index up to the most a value can have (deleting an absent key is a no-op). An unconditional put
   * checks the version it knows, and writes blind only if that check fails. The head is read only when a
   * create's check fails, to tell a value that expired but is still visible (which counts as missing) from a
   * lost race.
   */
  async put(
    key: string,
    value: string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const { expectedVersion, expireIn } = options;
    const bytes = encoder.encode(value);
    checkValueSize("DenoKvStore", key, bytes, DENO_KV_MAX_VALUE_BYTES);
    const n = Math.max(1, Math.ceil(bytes.length / DENO_KV_CHUNK_BYTES));
    // `slice` copies: Deno KV serializes a view's whole underlying buffer, which would break the size limits.
    const piece = (i: number) => bytes.slice(i * DENO_KV_CHUNK_BYTES, (i + 1) * DENO_KV_CHUNK_BYTES);
    // Deno KV takes whole milliseconds (it throws on 1234.0000000000002, which 1.234 * 1000 gives).
    const expireInMs = expireIn === undefined ? undefined : Math.ceil(expireIn * 1000);
    const headKey = this.#headKey(key);
    let plan = this.#plan(key, expectedVersion);

    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const g = crypto.randomUUID();
      const head: Head = { g, n, d: piece(0) };
      if (expireInMs !== undefined) head.e = Date.now() + expireInMs;
      const write: KvWrite = {
        head: headKey,
        check: plan.check === undefined ? undefined : { key: headKey, versionstamp: plan.check },
        sets: [{ key: headKey, value: head, expireIn: expireInMs }],
        deletes: [],
        bytes: 0,
      };
      for (let i = 1; i < n; i++) {
        write.sets.push({
          key: this.#chunkKey(key, i),
          value: { g, d: piece(i) } satisfies Chunk,
          expireIn: expireInMs,
        });
      }
      for (let i = n; i < plan.replaces; i++) write.deletes.push(this.#chunkKey(key, i));
      write.bytes = estimateBytes(key, 1 + 2 * write.sets.length + write.deletes.length, bytes.length);

      const result = await this.#batcher.commit(write);
      if (result === BUSY) continue;
      if (result.ok) {
        this.#remember(key, result.versionstamp, n);
        return { ok: true, version: result.versionstamp };
      }
      this.#known.delete(key);
      if (expectedVersion === undefined) {
        // Another writer replaced the version we knew: write without a check, deleting every chunk index.
        plan = { check: undefined, replaces: DENO_KV_MAX_CHUNKS };
        continue;
      }
      // The check failed. Only a create-if-missing can still win: when the head it met has expired.
      if (expectedVersion !== null) return { ok: false };
      const current = await this.#kv.get<Head>(headKey);
      if (isLive(current)) return { ok: false };
      plan = { check: current.versionstamp, replaces: (current.value as Head | null)?.n ?? 1 };
    }
    throw new Error(
      `DenoKvStore: put of "${key}" failed ${WRITE_ATTEMPTS} times (lost races or a locked database)`,
    );
  }

  /** One atomic commit, no read: the head and every chunk index a value can have. */
  async delete(key: string): Promise<void> {
    this.#known.delete(key);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const head = this.#headKey(key);
      const deletes = [head];
      for (let i = 1; i < DENO_KV_MAX_CHUNKS; i++) deletes.push(this.#chunkKey(key, i));
      if (
        await this.#batcher.commit({ head, sets: [], deletes, bytes: estimateBytes(key, deletes.length, 0) }) !== BUSY
      ) return;
    }
    throw new Error(
      `DenoKvStore: delete of "${key}" failed ${WRITE_ATTEMPTS} times (a locked database)`,
    );
  }

  /**
   * Keys under `prefix`, from the heads alone (one `kv.list` of at most `limit` heads; chunks are not read), in
   * Deno KV's order (UTF-8 bytes). The expiry is the head's own deadline; a head past it is left out. The cursor is
   * Deno KV's own (it names the last head read), so a page starts after it whatever changed in between.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    const limit = listLimit(options.limit);
    const head = (key: string) => this.#headKey(key);
    // Every string that starts with `prefix` sorts from `prefix` up to `prefix` followed by the highest code point.
    const selector = { start: head(prefix), end: head(prefix + "\u{10FFFF}") };
    const entries = this.#kv.list<Head>(selector, { limit, cursor: options.cursor });
    const keys: KeyPage["keys"] = [];
    let read = 0;
    try {
      for await (const entry of entries) {
        read++;
        const key = entry.key[entry.key.length - 1];
        if (typeof key !== "string" || !key.startsWith(prefix) || !isLive(entry)) continue;
        keys.push({ key, expiresAt: entry.value.e ?? null });
      }
    } catch (error) {
      if (options.cursor !== undefined && read === 0 && error instanceof TypeError) {
        throw new KeyListingError("invalid_cursor", `DenoKvStore: ${error.message} (not one this listing gave)`);
      }
      throw error;
    }
    return { keys, cursor: read < limit ? null : entries.cursor };
  }

  #plan(key: string, expectedVersion: string | null | undefined): WritePlan {
    if (expectedVersion === null) return { check: null, replaces: 1 };
    const known = this.#known.get(key);
    if (known && (expectedVersion === undefined || expectedVersion === known.version)) {
      return { check: known.version, replaces: known.n };
    }
    return { check: expectedVersion, replaces: DENO_KV_MAX_CHUNKS };
  }

  #remember(key: string, version: string, n: number): void {
    this.#known.delete(key);
    this.#known.set(key, { version, n });
    if (this.#known.size > KNOWN_KEYS) this.#known.delete(this.#known.keys().next().value!);
  }

  /** The value's pieces in order, or null if a chunk is missing or from another generation. */
  async #readChunks(key: string, head: Head): Promise<Uint8Array[] | null> {
    const parts = [head.d];
    for (let start = 1; start < head.n; start += READ_BATCH) {
      const keys: Deno.KvKey[] = [];
      for (let i = start; i < Math.min(head.n, start + READ_BATCH); i++) {
        keys.push(this.#chunkKey(key, i));
      }
      for (const entry of await this.#kv.getMany<Chunk[]>(keys)) {
        if (entry.value?.g !== head.g) return null;
        parts.push(entry.value.d);
      }
    }
    return parts;
  }

  /** The head and chunks 1 to READ_BATCH - 1 of `key`, from one snapshot. */
  async #readSnapshot(key: string): Promise<[Deno.KvEntryMaybe<Head>, Deno.KvEntryMaybe<Chunk>[]]> {
    const keys = [this.#headKey(key)];
    for (let i = 1; i < READ_BATCH; i++) keys.push(this.#chunkKey(key, i));
    const [head, ...chunks] = await this.#kv.getMany<unknown[]>(keys);
    return [head as Deno.KvEntryMaybe<Head>, chunks as Deno.KvEntryMaybe<Chunk>[]];
  }

  #headKey(key: string): Deno.KvKey {
    return [...this.#prefix, "v", key];
  }

  #chunkKey(key: string, index: number): Deno.KvKey {
    return [...this.#prefix, "c", key, index];
  }
}

function isLive(entry: Deno.KvEntryMaybe<Head>): entry is Deno.KvEntry<Head> {
  return entry.value !== null &&
    (entry.value.e === undefined || Date.now() < entry.value.e);
}

/** The parts of a value of at most READ_BATCH chunks read in one snapshot, or null if a chunk is of another write. */
function fromSnapshot(head: Head, chunks: Deno.KvEntryMaybe<Chunk>[]): Uint8Array[] | null {
  const parts = [head.d];
  for (let i = 1; i < head.n; i++) {
    const chunk = chunks[i - 1].value;
    if (chunk?.g !== head.g) return null;
    parts.push(chunk.d);
  }
  return parts;
}
