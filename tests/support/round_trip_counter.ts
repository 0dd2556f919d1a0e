/**
 * Counts a store backend's round trips, so tests can hold the run layer to its per-step budget (see
 * `RunService`): reads and writes as the backend sees them, not as `StateStore` calls.
 *
 *   countingDenoKv(kv)          a `Deno.Kv` whose get / getMany / list count as reads, commit / set / delete as writes
 *   countingWorkersKv()         an in-memory Workers KV binding (bulk reads included) counting its calls
 *   countingDurableObjects()    `SmolstepStateObject`s on node:sqlite (see ./sqlite_durable_object.ts) behind a
 *                               namespace that counts each fetch to a stub: GET / POST reads, PUT / DELETE writes
 */

import type { WorkersKvNamespace } from "../../lib/adapters/cloudflare/cloudflare_kv_store.ts";
import type { DurableObjectNamespaceLike } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { sqliteDurableObjects } from "./sqlite_durable_object.ts";

export class RoundTrips {
  reads = 0;
  writes = 0;

  /** The counts since the last call (and resets them). */
  take(): { reads: number; writes: number } {
    const counts = { reads: this.reads, writes: this.writes };
    this.reads = this.writes = 0;
    return counts;
  }
}

const KV_READS = new Set(["get", "getMany", "list"]);
const KV_WRITES = new Set(["set", "delete"]);

/**
 * Wraps `kv`; methods that return the atomic operation itself (check, set, ...) keep returning the wrapper.
 * `delayMs` holds every read and commit back that long, as a remote Deno KV (Deno Deploy) would (for benches).
 */
export function countingDenoKv(kv: Deno.Kv, options: { delayMs?: number } = {}): { kv: Deno.Kv; trips: RoundTrips } {
  const trips = new RoundTrips();
  const delayed = async (call: () => unknown) => {
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    return await call();
  };
  const wrapped = new Proxy(kv, {
    get(target, property) {
      const member = Reflect.get(target, property, target);
      if (typeof member !== "function") return member;
      const name = String(property);
      return (...args: unknown[]) => {
        const call = () => member.apply(target, args);
        if (name === "atomic") return countingAtomic(call(), trips, delayed);
        if (KV_READS.has(name)) trips.reads++;
        if (KV_WRITES.has(name)) trips.writes++;
        // `list` answers an iterator at once: counted, never delayed.
        return (KV_READS.has(name) || KV_WRITES.has(name)) && name !== "list" ? delayed(call) : call();
      };
    },
  });
  return { kv: wrapped, trips };
}

function countingAtomic(
  op: Deno.AtomicOperation,
  trips: RoundTrips,
  delayed: (call: () => unknown) => Promise<unknown>,
): Deno.AtomicOperation {
  const wrapped: Deno.AtomicOperation = new Proxy(op, {
    get(target, property) {
      const member = Reflect.get(target, property, target);
      if (typeof member !== "function") return member;
      return (...args: unknown[]) => {
        const call = () => member.apply(target, args);
        if (property === "commit") {
          trips.writes++;
          return delayed(call);
        }
        const result = call();
        return result === target ? wrapped : result;
      };
    },
  });
  return wrapped;
}

/** An in-memory Workers KV binding with metadata and bulk reads (a `Map` answer, as real bindings give). */
export function countingWorkersKv(): { binding: WorkersKvNamespace; trips: RoundTrips } {
  const trips = new RoundTrips();
  const entries = new Map<string, { value: string; metadata: unknown }>();
  const binding = {
    // deno-lint-ignore require-await
    async getWithMetadata(key: string | string[], _options: { type: "text" }) {
      trips.reads++;
      if (!Array.isArray(key)) return entries.get(key) ?? { value: null, metadata: null };
      return new Map(key.map((k) => [k, entries.get(k) ?? null]));
    },
    // deno-lint-ignore require-await
    async put(key: string, value: string, options?: { metadata?: unknown }) {
      trips.writes++;
      entries.set(key, { value, metadata: options?.metadata ?? null });
    },
    // deno-lint-ignore require-await
    async delete(key: string) {
      trips.writes++;
      entries.delete(key);
    },
  };
  return { binding: binding as unknown as WorkersKvNamespace, trips };
}

/** A Durable Object namespace over node:sqlite objects, counting the requests sent to its stubs. */
export function countingDurableObjects(): { namespace: DurableObjectNamespaceLike; trips: RoundTrips; close(): void } {
  const trips = new RoundTrips();
  const objects = sqliteDurableObjects();
  const namespace: DurableObjectNamespaceLike = {
    idFromName: (name) => objects.namespace.idFromName(name),
    get(id) {
      const stub = objects.namespace.get(id);
      return {
        fetch(request: Request) {
          if (request.method === "GET" || request.method === "POST") trips.reads++;
          else trips.writes++;
          return stub.fetch(request);
        },
      };
    },
  };
  return { namespace, trips, close: objects.close };
}
