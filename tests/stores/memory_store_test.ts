import assert from "node:assert/strict";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { runStoreConformance } from "./store_conformance.ts";

Deno.test("MemoryStore passes the store conformance suite", async (t) => {
  await runStoreConformance(
    t,
    () =>
      Promise.resolve({
        store: new MemoryStore(),
        close: () => Promise.resolve(),
      }),
  );
});

Deno.test("MemoryStore specifics", async (t) => {
  await t.step("versions are increasing counters across keys", async () => {
    const store = new MemoryStore();
    const versions: number[] = [];
    for (const key of ["a", "b", "a"]) {
      const put = await store.put(key, "x");
      assert.ok(put.ok);
      versions.push(Number(put.version));
    }
    assert.deepEqual(versions, [1, 2, 3]);
  });

  await t.step(
    "expireIn is honoured lazily on the injected clock",
    async () => {
      let now = 1_000_000;
      const store = new MemoryStore({ now: () => now });
      const put = await store.put("k", "v", { expireIn: 60 });
      assert.ok(put.ok);
      assert.ok((await store.put("forever", "v")).ok);
      now += 59_999;
      assert.deepEqual(await store.get("k"), {
        value: "v",
        version: put.version,
      });
      now += 1;
      assert.equal(store.size, 2, "nothing is swept eagerly");
      assert.equal(await store.get("k"), null);
      assert.equal(store.size, 1, "the expired entry is dropped when touched");
      assert.equal((await store.get("forever"))?.value, "v");
      assert.deepEqual(
        await store.put("k", "v2", { expectedVersion: put.version }),
        { ok: false },
      );
      assert.ok(
        (await store.put("k", "v2", { expectedVersion: null })).ok,
        "an expired key counts as missing",
      );
    },
  );

  await t.step("an unconditional put clears an earlier expiry", async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    await store.put("k", "short", { expireIn: 1 });
    await store.put("k", "long");
    now += 10_000;
    assert.equal((await store.get("k"))?.value, "long");
  });
});
