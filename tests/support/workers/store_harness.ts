/**
 * Test worker: the `StateStore` operations of a `CloudflareKvStore` (over the `STORE` KV binding) as JSON over
 * HTTP, so Deno tests can drive real Workers KV semantics under workerd.
 *
 *   GET  /        -> { atomic, maxValueBytes }                                (also the readiness probe)
 *   POST /store   { op: "get", key }                              -> { result: StoredValue | null }
 *                 { op: "getMany", keys }                       -> { result: (StoredValue | null)[] }
 *                 { op: "put", key, value, expectedVersion?, expireIn? } -> { result: PutResult }
 *                 { op: "list", key: prefix, limit?, cursor? } -> { result: KeyPage }
 *                 { op: "delete", key }                           -> { result: null }
 *   POST /bulk-probe { keys } -> { map, entries }: what the binding's own bulk read (`getWithMetadata(keys)`) answers
 * scheduled(): one slice of the legacy-expiry sweep Workers run on a cron trigger (lib/adapters/cloudflare/
 * scheduled_legacy_sweep.ts), mode from SMOLSTEP_LEGACY_SWEEP or its old name SMOLSTEP_SHARED_BLOB_SWEEP, in slices
 * of two pages of 2 keys so a test sees several; fire it with `wrangler dev --test-scheduled` and GET /__scheduled.
 * Failures answer 400 (bad request) or 500 (the store threw) with { error }.
 */

import { CloudflareKvStore, type WorkersKvNamespace } from "../../../lib/adapters/cloudflare/cloudflare_kv_store.ts";
import type { PutOptions } from "../../../lib/stores/state_store.ts";
import { scheduledLegacySweep, sweepMode } from "../../../lib/adapters/cloudflare/scheduled_legacy_sweep.ts";
import { legacyExpiryRules } from "../../../lib/runs/legacy_keys.ts";
import { createLogger } from "../../../lib/logging/logger.ts";
import { RunLifecycle } from "../../../lib/runs/run_lifecycle.ts";

interface Env {
  STORE: WorkersKvNamespace;
  SMOLSTEP_LEGACY_SWEEP?: string;
  SMOLSTEP_SHARED_BLOB_SWEEP?: string;
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

export default {
  scheduled(_controller: unknown, env: Env): Promise<void> {
    return scheduledLegacySweep(new CloudflareKvStore(env.STORE), {
      mode: sweepMode(env.SMOLSTEP_LEGACY_SWEEP, env.SMOLSTEP_SHARED_BLOB_SWEEP),
      rules: legacyExpiryRules(new RunLifecycle()),
      log: createLogger(),
      slice: { maxPages: 2, limit: 2 },
    });
  },

  async fetch(request: Request, env: Env): Promise<Response> {
    const store = new CloudflareKvStore(env.STORE);
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/") {
      return Response.json({ atomic: store.atomic, maxValueBytes: store.maxValueBytes });
    }
    if (request.method === "POST" && pathname === "/bulk-probe") {
      const { keys } = await request.json() as { keys: string[] };
      const bulk = env.STORE as unknown as { getWithMetadata(keys: string[], options: { type: "text" }): unknown };
      const answer = await bulk.getWithMetadata(keys, { type: "text" });
      return Response.json({ map: answer instanceof Map, entries: answer instanceof Map ? [...answer] : answer });
    }
    if (request.method !== "POST" || pathname !== "/store") {
      return Response.json({ error: "not found" }, { status: 404 });
    }

    let body: StoreRequest;
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: "body is not JSON" }, { status: 400 });
    }
    if (body?.op === "getMany") {
      if (!Array.isArray(body.keys)) return Response.json({ error: "keys must be an array" }, { status: 400 });
      try {
        return Response.json({ result: await store.getMany(body.keys) });
      } catch (error) {
        return Response.json({ error: String(error) }, { status: 500 });
      }
    }
    if (typeof body?.key !== "string") {
      return Response.json({ error: "key must be a string" }, { status: 400 });
    }

    try {
      switch (body.op) {
        case "get":
          return Response.json({ result: await store.get(body.key) });
        case "put": {
          if (typeof body.value !== "string") {
            return Response.json({ error: "value must be a string" }, {
              status: 400,
            });
          }
          const options: PutOptions = {};
          if (body.expectedVersion !== undefined) {
            options.expectedVersion = body.expectedVersion;
          }
          if (body.expireIn !== undefined) options.expireIn = body.expireIn;
          return Response.json({
            result: await store.put(body.key, body.value, options),
          });
        }
        case "list": // `key` is the prefix
          return Response.json({ result: await store.list(body.key, { limit: body.limit, cursor: body.cursor }) });
        case "delete":
          await store.delete(body.key);
          return Response.json({ result: null });
        default:
          return Response.json({
            error: `unknown op ${JSON.stringify(body.op)}`,
          }, { status: 400 });
      }
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
  },
};
