/**
 * `SmolstepStateObject` under Deno: each object gets its own in-memory node:sqlite database behind the
 * `ctx.storage` surface the class uses (`sql.exec`, `transactionSync`, alarms as no-ops). Enough to run
 * `DurableObjectStore` and the app over it in a plain Deno test, and count its requests; the real Durable Object
 * semantics (input gates, durability, alarms) are tested under workerd in tests/stores/durable_object_store_test.ts.
 */

import { DatabaseSync } from "node:sqlite";
import {
  type DurableObjectContextLike,
  SmolstepStateObject,
} from "../../lib/adapters/cloudflare/durable_object_class.ts";
import type { DurableObjectNamespaceLike } from "../../lib/adapters/cloudflare/durable_object_store.ts";

function sqliteContext(db: DatabaseSync): DurableObjectContextLike {
  return {
    storage: {
      sql: {
        exec: (query, ...bindings) => {
          const rows = db.prepare(query).all(...(bindings as never[]));
          return { toArray: () => rows as Record<string, unknown>[] };
        },
      },
      transactionSync<T>(fn: () => T): T {
        db.exec("BEGIN");
        try {
          const result = fn();
          db.exec("COMMIT");
          return result;
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
      },
      setAlarm: () => Promise.resolve(),
      deleteAlarm: () => Promise.resolve(),
    },
  };
}

/** A namespace whose objects are created on first use, one database each; `close` closes them all. */
export function sqliteDurableObjects(): { namespace: DurableObjectNamespaceLike; close(): void } {
  const objects = new Map<string, { db: DatabaseSync; object: SmolstepStateObject }>();
  const namespace: DurableObjectNamespaceLike = {
    idFromName: (name) => name,
    get(id) {
      const name = id as string;
      let entry = objects.get(name);
      if (!entry) {
        const db = new DatabaseSync(":memory:");
        entry = { db, object: new SmolstepStateObject(sqliteContext(db)) };
        objects.set(name, entry);
      }
      const { object } = entry;
      return { fetch: (request: Request) => object.fetch(request) };
    },
  };
  return { namespace, close: () => objects.forEach(({ db }) => db.close()) };
}
