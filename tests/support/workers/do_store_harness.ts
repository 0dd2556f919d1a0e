/**
 * Test worker: the `StateStore` operations of a `DurableObjectStore` (over the `STATE` Durable Object binding) as
 * JSON over HTTP, so Deno tests can drive real Durable Object semantics under workerd.
 *
 *   GET  /                -> { atomic, maxValueBytes }                    (also the readiness probe)
 *   POST /store           { op: "get", key }                              -> { result: StoredValue | null }
 *                         { op: "getMany", keys }                       -> { result: (StoredValue | null)[] }
 *                         { op: "put", key, value, expectedVersion?, expireIn? } -> { result: PutResult }
 *                         { op: "list", key: prefix, limit?, cursor? } -> { result: KeyPage }
 *                         { op: "delete", key }                           -> { result: null }
 *   POST /per-key-store   the same, with one object per key instead of the default one per two-segment prefix
 *   POST /race            { key, writers } -> { winners, final }: `writers` concurrent CAS puts on one version,
 *                         issued from inside the Worker
 *   GET  /debug/rows?object=NAME -> { tables, entries?, chunks? }: what that object stores
 * Failures answer 400 (bad request) or 500 (the store threw) with { error }.
 */

import { SmolstepStateObject as StateObject } from "../../../lib/adapters/cloudflare/durable_object_class.ts";
import type { DurableObjectContextLike } from "../../../lib/adapters/cloudflare/durable_object_class.ts";
import {
  type DurableObjectNamespaceLike,
  DurableObjectStore,
} from "../../../lib/adapters/cloudflare/durable_object_store.ts";
import type { PutOptions, StateStore } from "../../../lib/stores/state_store.ts";
import type { KeyListing } from "../../../lib/stores/key_listing.ts";

interface Env {
  STATE: DurableObjectNamespaceLike;
}

interface StoreRequest {
  op: "get" | "getMany" | "put" | "delete" | "list";
  key: string;
  keys?: string[];
  value?: string;
  expectedVersion?: string | null;
  expireIn?: number;
  limit?: number;
  cursor?: string;
}

const DEBUG_HEADER = "x-harness-debug";

/** The real class, plus a debug answer with its row counts (harness only). */
export class SmolstepStateObject extends StateObject {
  readonly #ctx: DurableObjectContextLike;

  constructor(ctx: DurableObjectContextLike, env?: unknown) {
    super(ctx, env);
    this.#ctx = ctx;
  }

  override fetch(request: Request): Promise<Response> {
    if (request.headers.get(DEBUG_HEADER) !== "rows") return super.fetch(request);
    const sql = this.#ctx.storage.sql;
    const count = (table: string) => sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).toArray()[0].n;
    const tables = sql.exec("SELECT 1 FROM sqlite_master WHERE name LIKE 'smolstep_%'").toArray().length > 0;
    const body = tables ? { tables, entries: count("smolstep_entries"), chunks: count("smolstep_chunks") } : { tables };
    return Promise.resolve(Response.json(body));
  }
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const stores: Record<string, StateStore & KeyListing> = {
      "/store": new DurableObjectStore(env.STATE),
      "/per-key-store": new DurableObjectStore(env.STATE, { objectName: (key) => key }),
    };
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/") {
      return json({ atomic: stores["/store"].atomic, maxValueBytes: stores["/store"].maxValueBytes });
    }
    if (request.method === "GET" && url.pathname === "/debug/rows") {
      const stub = env.STATE.get(env.STATE.idFromName(url.searchParams.get("object") ?? ""));
      return stub.fetch(new Request("https://debug.internal/", { headers: { [DEBUG_HEADER]: "rows" } }));
    }
    if (request.method === "POST" && url.pathname === "/race") {
      // N compare-and-sets on one version fired from inside the Worker: far tighter overlap than over HTTP.
      const { key, writers } = await request.json() as { key: string; writers: number };
      const store = stores["/store"];
      const base = await store.put(key, "base");
      if (!base.ok) return json({ error: "base put refused" }, 500);
      const results = await Promise.all(
        Array.from({ length: writers }, (_, i) => store.put(key, `w${i}`, { expectedVersion: base.version })),
      );
      const winners = results.flatMap((r, i) => r.ok ? [{ value: `w${i}`, version: r.version }] : []);
      return json({ winners, final: await store.get(key) });
    }
    const store = stores[url.pathname];
    if (request.method !== "POST" || !store) return json({ error: "not found" }, 404);

    let body: StoreRequest;
    try {
      body = await request.json();
    } catch {
      return json({ error: "body is not JSON" }, 400);
    }
    if (body?.op === "getMany") {
      if (!Array.isArray(body.keys)) return json({ error: "keys must be an array" }, 400);
      try {
        return json({ result: await store.getMany(body.keys) });
      } catch (error) {
        return json({ error: String(error) }, 500);
      }
    }
    if (typeof body?.key !== "string") return json({ error: "key must be a string" }, 400);

    try {
      switch (body.op) {
        case "get":
          return json({ result: await store.get(body.key) });
        case "put": {
          if (typeof body.value !== "string") return json({ error: "value must be a string" }, 400);
          const options: PutOptions = {};
          if (body.expectedVersion !== undefined) options.expectedVersion = body.expectedVersion;
          if (body.expireIn !== undefined) options.expireIn = body.expireIn;
          return json({ result: await store.put(body.key, body.value, options) });
        }
        case "list": // `key` is the prefix
          return Response.json({ result: await store.list(body.key, { limit: body.limit, cursor: body.cursor }) });
        case "delete":
          await store.delete(body.key);
          return json({ result: null });
        default:
          return json({ error: `unknown op ${JSON.stringify(body.op)}` }, 400);
      }
    } catch (error) {
      return json({ error: String(error) }, 500);
    }
  },
};
