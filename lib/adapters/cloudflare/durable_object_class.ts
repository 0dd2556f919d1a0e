/**
 * `SmolstepStateObject`: the Durable Object behind `DurableObjectStore`. Export it from the Worker entry and bind
 * it with a `new_sqlite_classes` migration (it needs SQLite-backed storage: `ctx.storage.sql`).
 *
 * A plain class with `fetch()`, so it needs nothing from "cloudflare:workers" and stays importable from Deno; the
 * runtime passes `(ctx, env)` to the constructor. Tables, created by the first write and dropped again when the last
 * entry is deleted or expires (so reads of missing keys store nothing, and an emptied object holds no rows):
 *   smolstep_entries (key, version, chunks, expires_at)   one row per live key
 *   smolstep_chunks  (key, idx, data BLOB)                the value's UTF-8 bytes, 1 MiB per row
 *
 * Atomicity. A Durable Object runs one JavaScript thread, but an `await` lets another request in. So each
 * operation first awaits what it needs from the request (the body), then does all its storage work in one
 * synchronous `transactionSync`: read the entry, compare the version, delete the old chunks, write the new ones and
 * the entry. Nothing can interleave with a synchronous block, the transaction makes the write all-or-nothing (a
 * failure midway rolls back), and the output gate holds the response until the write is durable. Of N concurrent
 * compare-and-sets on one version, the first to reach the object wins and the others see the new version: 409.
 * A read of several keys (`getMany`, a POST) reads them all in one transaction too: one consistent snapshot.
 *
 * Expiry. `expires_at` (epoch ms) is checked on every read, so an expired value is gone at once; an alarm set to
 * the earliest `expires_at` deletes the rows. The alarm is rescheduled synchronously after each write that touches
 * an expiring entry, so calls reach storage in the order of the table states they were computed from.
 *
 * Deltas. `DELTAS_URL` is not storage: the run's background step POSTs its model deltas there and the run's event
 * streams listen there (`DeltaFanout`, in memory; see `DurableObjectDeltaRelay`).
 */

import { DeltaFanout } from "./delta_fanout.ts";
import { DELTAS_URL } from "./durable_object_delta_relay.ts";
import { DURABLE_OBJECT_CHUNK_BYTES, DURABLE_OBJECT_MAX_VALUE_BYTES, WIRE } from "./durable_object_store.ts";

/** The `ctx` (DurableObjectState) the runtime passes, typed structurally (no @cloudflare/workers-types). */
export interface DurableObjectContextLike {
  storage: {
    sql: { exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] } };
    transactionSync<T>(fn: () => T): T;
    setAlarm(scheduledTime: number): Promise<void>;
    deleteAlarm(): Promise<void>;
  };
}

interface Entry {
  version: string;
  chunks: number;
  expiresAt: number | null;
}

/** A malformed request from the store (400), as opposed to a storage failure (500). */
class BadRequest extends Error {}

const TABLES = [
  `CREATE TABLE IF NOT EXISTS smolstep_entries (
     key TEXT PRIMARY KEY, version TEXT NOT NULL, chunks INTEGER NOT NULL, expires_at INTEGER)`,
  `CREATE TABLE IF NOT EXISTS smolstep_chunks (
     key TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, idx))`,
];

export class SmolstepStateObject {
  readonly #ctx: DurableObjectContextLike;
  /** Whether our tables exist: created by the first write, dropped when the last entry goes. */
  #ready: boolean;
  /** The run's model deltas, passed from the background step to its event streams (never stored). */
  readonly #deltas = new DeltaFanout();

  constructor(ctx: DurableObjectContextLike, _env?: unknown) {
    this.#ctx = ctx;
    this.#ready = this.#tablesExist();
  }

  async fetch(request: Request): Promise<Response> {
    if (request.url === DELTAS_URL) {
      return request.method === "POST" ? this.#deltas.publish(request) : this.#deltas.listen();
    }
    try {
      if (request.url.startsWith(WIRE.listUrl)) return this.#list(new URL(request.url).searchParams);
      if (request.method === "POST") return this.#getMany(parseKeys(await request.text()));
      const key = decodeHeader(request.headers.get(WIRE.key), "key");
      switch (request.method) {
        case "GET":
          return this.#get(key);
        case "PUT": {
          const expected = parseExpected(request.headers.get(WIRE.expected));
          const expireIn = parseExpireIn(request.headers.get(WIRE.expireIn));
          const body = new Uint8Array(await request.arrayBuffer());
          if (body.length > DURABLE_OBJECT_MAX_VALUE_BYTES) throw new BadRequest("value too large");
          return await this.#put(key, body, expected, expireIn);
        }
        case "DELETE":
          await this.#write(() => [null, this.#drop(key)]);
          return new Response(null, { status: 204 });
        default:
          throw new BadRequest(`method ${request.method} not allowed`);
      }
    } catch (error) {
      return new Response(String(error), { status: error instanceof BadRequest ? 400 : 500 });
    }
  }

  /** Alarm handler: deletes every expired entry, then schedules the next expiry. */
  alarm(): Promise<void> {
    return this.#write(() => {
      if (!this.#ready) return [undefined, true];
      const now = Date.now();
      this.#sql(
        "DELETE FROM smolstep_chunks WHERE key IN (SELECT key FROM smolstep_entries WHERE expires_at <= ?)",
        now,
      );
      this.#sql("DELETE FROM smolstep_entries WHERE expires_at <= ?", now);
      this.#dropTablesIfEmpty();
      return [undefined, true];
    });
  }

  #get(key: string): Response {
    const found = this.#transaction(() => {
      const entry = this.#live(key, Date.now());
      return entry && { version: entry.version, parts: this.#chunks(key, entry) };
    });
    if (!found) return new Response(null, { status: 404 });
    return new Response(new Blob(found.parts), { headers: { [WIRE.version]: found.version } });
  }

  /** Several keys in one transaction: one consistent snapshot, one response. */
  #getMany(keys: string[]): Response {
    const found = this.#transaction(() => {
      const now = Date.now();
      return keys.map((key) => {
        const entry = this.#live(key, now);
        return entry && { version: entry.version, parts: this.#chunks(key, entry) };
      });
    });
    const entries = found.map((entry) => entry && [entry.version, entry.parts.reduce((n, p) => n + p.byteLength, 0)]);
    return new Response(new Blob(found.flatMap((entry) => entry?.parts ?? [])), {
      headers: { [WIRE.entries]: JSON.stringify(entries) },
    });
  }

  /** Live keys under `prefix` after `cursor` (the last key of the previous page), in SQLite's byte order. */
  #list(params: URLSearchParams): Response {
    const prefix = params.get("prefix") ?? "";
    const limit = Number(params.get("limit"));
    const cursor = params.get("cursor");
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new BadRequest("malformed limit");
    const rows = !this.#ready ? [] : this.#sql(
      `SELECT key, expires_at FROM smolstep_entries
       WHERE substr(key, 1, length(?1)) = ?1 AND (?2 IS NULL OR key > ?2) AND (expires_at IS NULL OR expires_at > ?3)
       ORDER BY key LIMIT ?4`,
      prefix,
      cursor,
      Date.now(),
      limit + 1,
    );
    const keys = rows.slice(0, limit).map((row) => [row.key as string, row.expires_at as number | null]);
    return Response.json({ keys, cursor: rows.length > limit ? keys[keys.length - 1][0] : null });
  }

  /** The entry's chunks in order; throws if some are missing. */
  #chunks(key: string, entry: Entry): ArrayBuffer[] {
    const rows = this.#sql("SELECT data FROM smolstep_chunks WHERE key = ? ORDER BY idx", key);
    if (rows.length !== entry.chunks) throw new Error(`"${key}" has ${rows.length} of ${entry.chunks} chunks`);
    return rows.map((row) => row.data as ArrayBuffer);
  }

  async #put(
    key: string,
    bytes: Uint8Array,
    expected: string | null | undefined,
    expireIn?: number,
  ): Promise<Response> {
    const version = await this.#write((): [string | null, boolean] => {
      const now = Date.now();
      const current = this.#live(key, now);
      if (expected !== undefined && (current?.version ?? null) !== expected) return [null, false];
      if (!this.#ready) {
        for (const statement of TABLES) this.#sql(statement);
        this.#ready = true;
      }
      const expiresAt = expireIn === undefined ? null : now + Math.ceil(expireIn * 1000);
      const chunks = Math.ceil(bytes.length / DURABLE_OBJECT_CHUNK_BYTES);
      this.#sql("DELETE FROM smolstep_chunks WHERE key = ?", key);
      for (let i = 0; i < chunks; i++) {
        const data = bytes.subarray(i * DURABLE_OBJECT_CHUNK_BYTES, (i + 1) * DURABLE_OBJECT_CHUNK_BYTES);
        this.#sql("INSERT INTO smolstep_chunks (key, idx, data) VALUES (?, ?, ?)", key, i, data);
      }
      const version = crypto.randomUUID();
      this.#sql(
        `INSERT INTO smolstep_entries (key, version, chunks, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET
           version = excluded.version, chunks = excluded.chunks, expires_at = excluded.expires_at`,
        key,
        version,
        chunks,
        expiresAt,
      );
      return [version, expiresAt !== null || (current !== null && current.expiresAt !== null)];
    });
    if (version === null) return new Response(null, { status: 409 });
    return new Response(null, { headers: { [WIRE.version]: version } });
  }

  /**
   * Runs `change` in one synchronous transaction. `change` returns its result and whether expiries changed; if so,
   * the alarm is re-aimed in the same synchronous turn (so concurrent writers cannot reorder the alarm calls).
   */
  async #write<T>(change: () => [T, boolean]): Promise<T> {
    const [result, expiryChanged] = this.#transaction(change);
    if (expiryChanged) {
      const next = this.#ready ? this.#sql("SELECT MIN(expires_at) AS next FROM smolstep_entries")[0]?.next : null;
      const storage = this.#ctx.storage;
      await (typeof next === "number" ? storage.setAlarm(next) : storage.deleteAlarm());
    }
    return result;
  }

  /** `transactionSync`, re-reading whether the tables exist if it rolled back (it may have undone a CREATE). */
  #transaction<T>(fn: () => T): T {
    try {
      return this.#ctx.storage.transactionSync(fn);
    } catch (error) {
      this.#ready = this.#tablesExist();
      throw error;
    }
  }

  /** The key's entry, or null if missing; an expired entry is deleted here and reads as missing. */
  #live(key: string, now: number): Entry | null {
    if (!this.#ready) return null;
    const row = this.#sql("SELECT version, chunks, expires_at FROM smolstep_entries WHERE key = ?", key)[0];
    if (!row) return null;
    const entry: Entry = {
      version: row.version as string,
      chunks: row.chunks as number,
      expiresAt: row.expires_at as number | null,
    };
    if (entry.expiresAt !== null && now >= entry.expiresAt) {
      this.#drop(key);
      return null;
    }
    return entry;
  }

  /** Deletes the key's rows; true if they held an expiring entry (so the alarm needs re-aiming). */
  #drop(key: string): boolean {
    if (!this.#ready) return false;
    const gone = this.#sql("DELETE FROM smolstep_entries WHERE key = ? RETURNING expires_at", key)[0];
    this.#sql("DELETE FROM smolstep_chunks WHERE key = ?", key);
    this.#dropTablesIfEmpty();
    return gone !== undefined && gone.expires_at !== null;
  }

  /** An object whose last entry went keeps no tables, so a finished, deleted run leaves nothing stored. */
  #dropTablesIfEmpty(): void {
    if (this.#sql("SELECT 1 FROM smolstep_entries LIMIT 1").length > 0) return;
    this.#sql("DROP TABLE smolstep_chunks");
    this.#sql("DROP TABLE smolstep_entries");
    this.#ready = false;
  }

  #tablesExist(): boolean {
    return this.#sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'smolstep_entries'").length > 0;
  }

  #sql(query: string, ...bindings: unknown[]): Record<string, unknown>[] {
    return this.#ctx.storage.sql.exec(query, ...bindings).toArray();
  }
}

function decodeHeader(raw: string | null, name: string): string {
  if (raw === null) throw new BadRequest(`missing ${name}`);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequest(`malformed ${name}`);
  }
}

/** A getMany body: a JSON array of key strings. */
function parseKeys(body: string): string[] {
  let keys: unknown;
  try {
    keys = JSON.parse(body);
  } catch {
    throw new BadRequest("malformed keys");
  }
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "string")) {
    throw new BadRequest("keys must be an array of strings");
  }
  return keys;
}

/** `undefined` (unconditional), `null` (create only) or a version string. */
function parseExpected(raw: string | null): string | null | undefined {
  if (raw === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeHeader(raw, "expected version"));
  } catch (error) {
    throw error instanceof BadRequest ? error : new BadRequest("malformed expected version");
  }
  if (parsed !== null && typeof parsed !== "string") throw new BadRequest("expected version must be a string or null");
  return parsed;
}

function parseExpireIn(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(seconds) || seconds < 0) throw new BadRequest("malformed expireIn");
  return seconds;
}
