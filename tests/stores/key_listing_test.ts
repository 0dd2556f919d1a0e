/**
 * `list` (lib/stores/key_listing.ts) on the stores that run under plain Deno: MemoryStore, DenoKvStore (in memory
 * and on a SQLite file), and DurableObjectStore over the real `SmolstepStateObject` on node:sqlite. Workers KV and
 * Durable Objects under workerd run the same suite in cloudflare_kv_store_test.ts and durable_object_store_test.ts.
 */

import assert from "node:assert/strict";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { canListKeys, KeyListingError } from "../../lib/stores/key_listing.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";
import { runListingConformance } from "./key_listing_conformance.ts";

Deno.test("MemoryStore lists keys", async (t) => {
  await runListingConformance(t, new MemoryStore());
});

Deno.test("DenoKvStore lists keys (:memory: and a SQLite file)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-list-" });
  try {
    for (const path of [":memory:", `${dir}/state.sqlite3`]) {
      const kv = await Deno.openKv(path);
      try {
        await t.step(path, (t) => runListingConformance(t, new DenoKvStore(kv)));
      } finally {
        kv.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DenoKvStore.list: a value of several chunks is one key; a foreign cursor is refused", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new DenoKvStore(kv);
    assert.ok((await store.put("p/big", "x".repeat(200_000))).ok);
    assert.ok((await store.put("p/small", "y")).ok);
    assert.deepEqual((await store.list("p/")).keys, [{ key: "p/big", expiresAt: null }, {
      key: "p/small",
      expiresAt: null,
    }]);
    await assert.rejects(() => store.list("p/", { cursor: "not a cursor" }), KeyListingError);
  } finally {
    kv.close();
  }
});

Deno.test("DurableObjectStore over SmolstepStateObject on node:sqlite lists keys of one object", async (t) => {
  const objects = sqliteDurableObjects();
  try {
    await runListingConformance(t, new DurableObjectStore(objects.namespace));
  } finally {
    objects.close();
  }
});

Deno.test("DurableObjectStore.list refuses a prefix that spans objects, asking none", async () => {
  let asked = 0;
  const namespace = {
    idFromName: (name: string) => name,
    get: () => ({ fetch: () => Promise.resolve(new Response(String(++asked), { status: 500 })) }),
  };
  const store = new DurableObjectStore(namespace);
  assert.ok(canListKeys(store));
  for (const prefix of ["blobs/", "runs/", "runs/abc", ""]) {
    await assert.rejects(() => store.list(prefix), (error: unknown) => {
      assert.ok(error instanceof KeyListingError);
      assert.equal(error.code, "unsupported");
      return true;
    });
  }
  const perKey = new DurableObjectStore(namespace, { objectName: (key) => key });
  await assert.rejects(() => perKey.list("runs/abc/"), KeyListingError);
  assert.equal(asked, 0);
});
