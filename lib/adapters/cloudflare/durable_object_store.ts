/**
 * `StateStore` over a Cloudflare Durable Object namespace: strongly consistent, with a real compare-and-set.
 * The binding is passed in (`new DurableObjectStore(env.STATE)`); the object class it talks to is
 * `SmolstepStateObject` (`./durable_object_class.ts`), which the Worker must export and bind with a
 * `new_sqlite_classes` migration.
 *
 * ATOMIC (`atomic = true`). Every key lives in exactly one object (`idFromName(objectName(key))`), and a Durable
 * Object runs one JavaScript thread: the object checks the version and writes the new one inside a single
 * synchronous SQLite transaction, so no other request to the same key can run in between. See the class file.
 *
 * Placement: one object per run. By default a key lives in the object named by its first two `/`-separated
 * segments ({@link runObjectName}), so `RunService`'s keys for a run (`runs/<id>`, `runs/<id>/cancel`, and anything
 * it later stores by reference under that prefix) share one object, and different runs never share one: runs
 * never queue behind each other, and a run's lock, commit and cancel flag are served by the one object that owns
 * it. `objectName` may place keys differently (`(key) => key` for one object per key); the store semantics stay
 * per key either way.
 *
 * Limits. SQLite-backed Durable Objects refuse any string, BLOB or row over 2,000,000 bytes, so values travel as
 * UTF-8 and are stored in chunks of {@link DURABLE_OBJECT_CHUNK_BYTES} (1 MiB). A value may be at most
 * {@link DURABLE_OBJECT_MAX_VALUE_BYTES} (25 MiB of UTF-8, the same ceiling as Workers KV, so switching stores
 * does not change what fits; `maxValueBytes`); a key at most {@link DURABLE_OBJECT_MAX_KEY_BYTES}. A larger value
 * throws `StoreLimitError`, a longer key a `RangeError`, before anything is sent. A lone UTF-16 surrogate comes back as U+FFFD (`JSON.stringify` output
 * never has one). `expireIn` is exact: an expired value reads as missing at once, and an alarm deletes it.
 *
 * The object is called with `fetch` (a small HTTP protocol, below) rather than RPC: RPC needs the class to extend
 * `DurableObject` from "cloudflare:workers", which Deno cannot load, and the tests run this file and the class
 * under plain Deno too. Both are imported by path (functions/worker.ts), not re-exported from `lib/mod.ts`.
 */

import type { PutOptions, PutResult, StateStore, StoredValue } from "../../stores/state_store.ts";
import { checkValueSize } from "../../stores/store_limit_error.ts";
import type { KeyListing, KeyPage, ListOptions } from "../../stores/key_listing.ts";
import { KeyListingError, listLimit } from "../../stores/key_listing.ts";

/** Bytes of UTF-8 per stored chunk: well under the 2,000,000-byte row limit, with room for the key. */
export const DURABLE_OBJECT_CHUNK_BYTES = 1_048_576;
/** Largest value (UTF-8 bytes) a `DurableObjectStore` accepts: 25 MiB. */
export const DURABLE_OBJECT_MAX_VALUE_BYTES = 25 * 1_048_576;
/** Longest key (UTF-8 bytes). */
export const DURABLE_OBJECT_MAX_KEY_BYTES = 2_048;

/**
 * The wire protocol between `DurableObjectStore` and `SmolstepStateObject` (internal; both ends ship together).
 * GET / PUT / DELETE on {@link WIRE.url}; the key in a header, URI-encoded. A PUT's body is the value's UTF-8
 * bytes; a GET answers them (200, or 404 when missing). `expected` is the URI-encoded JSON of `expectedVersion`
 * (absent: unconditional); a lost compare-and-set answers 409. The new or current version comes back in `version`.
 * A POST reads several keys of one object at once (`getMany`): its body is the JSON array of keys, and the answer
 * (200) lists, in `entries`, the JSON array of `[version, byteLength]` (or null where missing) per key, with the
 * values' UTF-8 bytes one after the other as the body. A GET on {@link WIRE.listUrl}`?prefix=&limit=&cursor=` lists
 * the object's keys (`list`): `{ keys: [key, expiresAt | null][], cursor: string | null }`.
 */
export const WIRE = {
  url: "https://smolstep-state.internal/entry",
  listUrl: "https://smolstep-state.internal/list",
  key: "x-smolstep-key",
  expected: "x-smolstep-expected-version",
  expireIn: "x-smolstep-expire-in",
  version: "x-smolstep-version",
  entries: "x-smolstep-entries",
} as const;

/** Keys per `getMany` request to one object, which keeps the `entries` header small (~50 bytes a key). */
const MANY_KEYS_PER_REQUEST = 64;

/** The part of a Durable Object stub this store uses. */
export interface DurableObjectStubLike {
  fetch(request: Request): Promise<Response>;
}

/**
 * The part of a Workers `DurableObjectNamespace` this store uses, typed structurally so `lib/` needs no
 * `@cloudflare/workers-types`. A real binding (and Miniflare's) satisfies it.
 */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): DurableObjectStubLike;
}

export interface DurableObjectStoreOptions {
  /** Name of the object that holds `key`; {@link runObjectName} by default. */
  objectName?: (key: string) => string;
}

/** The default placement: the key's first two `/`-separated segments ("runs/<id>/cancel" -> "runs/<id>"). */
export function runObjectName(key: string): string {
  return key.split("/", 2).join("/");
}

const encoder = new TextEncoder();
// ignoreBOM: a value that starts with U+FEFF must keep it (Response.text() would strip it).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

export class DurableObjectStore implements StateStore, KeyListing {
  readonly atomic = true;
  readonly maxValueBytes = DURABLE_OBJECT_MAX_VALUE_BYTES;
  readonly #namespace: DurableObjectNamespaceLike;
  readonly #objectName: (key: string) => string;
  readonly #defaultPlacement: boolean;

  constructor(namespace: DurableObjectNamespaceLike, options: DurableObjectStoreOptions = {}) {
    this.#namespace = namespace;
    this.#objectName = options.objectName ?? runObjectName;
    this.#defaultPlacement = options.objectName === undefined;
  }

  /**
   * Keys under `prefix`, asked of the one object that holds them all. A Worker cannot enumerate the objects of a
   * namespace, so only a prefix that names one object can be listed: with the default placement, one with at least
   * two `/` (`runs/<id>/`, `runs/<id>/blobs/`). Any other prefix (`blobs/`, where each legacy shared blob is its own
   * object), and any prefix under a custom `objectName`, throws `KeyListingError("unsupported")` before a request.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    const limit = listLimit(options.limit);
    if (!this.#defaultPlacement || prefix.split("/").length < 3) {
      throw new KeyListingError(
        "unsupported",
        `DurableObjectStore cannot list "${prefix.slice(0, 200)}": its keys live in many objects, and a Worker ` +
          "cannot enumerate a namespace's objects (only a prefix inside one run's object, runs/<id>/, can be listed)",
      );
    }
    checkKey(prefix);
    const url = new URL(WIRE.listUrl);
    url.searchParams.set("prefix", prefix);
    url.searchParams.set("limit", String(limit));
    if (options.cursor !== undefined) url.searchParams.set("cursor", options.cursor);
    const stub = this.#namespace.get(this.#namespace.idFromName(this.#objectName(prefix)));
    const response = await stub.fetch(new Request(url));
    await expectStatus(response, 200, "list", prefix);
    const page = await response.json() as { keys: [string, number | null][]; cursor: string | null };
    return { keys: page.keys.map(([key, expiresAt]) => ({ key, expiresAt })), cursor: page.cursor };
  }

  async get(key: string): Promise<StoredValue | null> {
    const response = await this.#send(key, "GET", {});
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    await expectStatus(response, 200, "get", key);
    return { value: decoder.decode(await response.arrayBuffer()), version: versionOf(response) };
  }

  /**
   * One request per object holding some of the keys (in parallel), up to 64 keys each: a run's record and cancel
   * flag share one object, so they come back in one round trip, read in one transaction.
   */
  async getMany(keys: string[]): Promise<(StoredValue | null)[]> {
    const byObject = new Map<string, number[]>();
    for (const [i, key] of keys.entries()) {
      checkKey(key);
      encodeURIComponent(key); // throws a URIError on a lone surrogate, as `get` does
      const name = this.#objectName(key);
      byObject.set(name, [...byObject.get(name) ?? [], i]);
    }
    const results: (StoredValue | null)[] = new Array(keys.length).fill(null);
    const requests: Promise<void>[] = [];
    for (const [name, indexes] of byObject) {
      for (let start = 0; start < indexes.length; start += MANY_KEYS_PER_REQUEST) {
        const batch = indexes.slice(start, start + MANY_KEYS_PER_REQUEST);
        requests.push(
          this.#readMany(name, batch.map((i) => keys[i])).then((values) => {
            for (const [j, value] of values.entries()) results[batch[j]] = value;
          }),
        );
      }
    }
    await Promise.all(requests);
    return results;
  }

  async #readMany(objectName: string, keys: string[]): Promise<(StoredValue | null)[]> {
    const stub = this.#namespace.get(this.#namespace.idFromName(objectName));
    const response = await stub.fetch(new Request(WIRE.url, { method: "POST", body: JSON.stringify(keys) }));
    await expectStatus(response, 200, "getMany", keys.join(", "));
    const entries = JSON.parse(response.headers.get(WIRE.entries) ?? "null") as ([string, number] | null)[] | null;
    if (!Array.isArray(entries) || entries.length !== keys.length) {
      await response.body?.cancel();
      throw new Error("DurableObjectStore: the object answered a getMany without its entries");
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    let offset = 0;
    return entries.map((entry) => {
      if (entry === null) return null;
      const [version, length] = entry;
      const value = decoder.decode(bytes.subarray(offset, offset + length));
      offset += length;
      return { value, version };
    });
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    const { expectedVersion, expireIn } = options;
    const bytes = encoder.encode(value);
    checkValueSize("DurableObjectStore", key, bytes, DURABLE_OBJECT_MAX_VALUE_BYTES);
    if (expireIn !== undefined && !(Number.isFinite(expireIn) && expireIn >= 0)) {
      throw new RangeError(`DurableObjectStore: expireIn must be a finite number of seconds >= 0, got ${expireIn}`);
    }
    const headers: Record<string, string> = {};
    if (expectedVersion !== undefined) headers[WIRE.expected] = encodeURIComponent(JSON.stringify(expectedVersion));
    if (expireIn !== undefined) headers[WIRE.expireIn] = String(expireIn);
    const response = await this.#send(key, "PUT", headers, bytes);
    if (response.status === 409) {
      await response.body?.cancel();
      return { ok: false };
    }
    await expectStatus(response, 200, "put", key);
    await response.body?.cancel();
    return { ok: true, version: versionOf(response) };
  }

  async delete(key: string): Promise<void> {
    const response = await this.#send(key, "DELETE", {});
    await expectStatus(response, 204, "delete", key);
    await response.body?.cancel();
  }

  #send(
    key: string,
    method: string,
    headers: Record<string, string>,
    body?: Uint8Array<ArrayBuffer>,
  ): Promise<Response> {
    checkKey(key);
    // encodeURIComponent throws a URIError on a lone surrogate, so such a key is refused, never mangled.
    headers[WIRE.key] = encodeURIComponent(key);
    const stub = this.#namespace.get(this.#namespace.idFromName(this.#objectName(key)));
    return stub.fetch(new Request(WIRE.url, { method, headers, body }));
  }
}

/** A key over {@link DURABLE_OBJECT_MAX_KEY_BYTES} is refused before anything is sent. */
function checkKey(key: string): void {
  const keyBytes = encoder.encode(key).length;
  if (keyBytes > DURABLE_OBJECT_MAX_KEY_BYTES) {
    throw new RangeError(
      `DurableObjectStore: key is ${keyBytes} bytes of UTF-8; the limit is ${DURABLE_OBJECT_MAX_KEY_BYTES}`,
    );
  }
}

/** Throws with the object's error text unless `response` has the expected status. */
async function expectStatus(response: Response, status: number, op: string, key: string): Promise<void> {
  if (response.status === status) return;
  const text = await response.text().catch(() => "");
  throw new Error(`DurableObjectStore: ${op} of "${key}" failed (${response.status}): ${text}`);
}

function versionOf(response: Response): string {
  const version = response.headers.get(WIRE.version);
  if (!version) throw new Error("DurableObjectStore: the object answered without a version");
  return version;
}
