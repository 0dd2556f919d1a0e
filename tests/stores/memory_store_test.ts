import assert from "node:assert/strict";
import {
  MEMORY_STORE_MAX_TOTAL_BYTES,
  MEMORY_STORE_MAX_VALUE_BYTES,
  MEMORY_STORE_SWEEP_INTERVAL_MS,
  MemoryStore,
} from "../../lib/stores/memory_store.ts";
import { StoreLimitError } from "../../lib/stores/store_limit_error.ts";
import { runStoreConformance } from "./store_conformance.ts";

Deno.test("MemoryStore passes the store conformance suite", async (t) => {
  await runStoreConformance(
    t,
    () =>
      Promise.resolve({
        store: new MemoryStore(),
        close: () => Promise.resolve(),
      }),
    { expectedMaxValueBytes: MEMORY_STORE_MAX_VALUE_BYTES },
  );
});

Deno.test("MemoryStore passes the conformance suite with a configured maxValueBytes", async (t) => {
  await runStoreConformance(
    t,
    () => Promise.resolve({ store: new MemoryStore({ maxValueBytes: 5_000 }), close: () => Promise.resolve() }),
    { largeValueChars: 1_000, expectedMaxValueBytes: 5_000 },
  );
});

Deno.test("MemoryStore caps its memory: attack: filling the store past maxTotalBytes is refused", async (t) => {
  await t.step("defaults are documented constants", () => {
    const store = new MemoryStore();
    assert.equal(store.maxValueBytes, 720_000);
    assert.equal(store.maxTotalBytes, MEMORY_STORE_MAX_TOTAL_BYTES);
    assert.equal(MEMORY_STORE_MAX_TOTAL_BYTES, 256 * 1_048_576);
  });

  await t.step("writes beyond maxTotalBytes throw store_full and change nothing", async () => {
    const store = new MemoryStore({ maxTotalBytes: 10_000 });
    const value = "v".repeat(1_000);
    let stored = 0;
    let refused: unknown;
    for (let i = 0; i < 20 && !refused; i++) {
      try {
        assert.ok((await store.put(`k${i}`, value)).ok);
        stored++;
      } catch (error) {
        refused = error;
      }
    }
    assert.equal(stored, 9, "nine entries of 1,002 bytes fit in 10,000");
    assert.ok(refused instanceof StoreLimitError && refused.kind === "store_full", String(refused));
    assert.equal(refused.limit, 10_000);
    assert.ok(store.totalBytes <= 10_000, `holds ${store.totalBytes} bytes`);
    assert.equal(await store.get("k9"), null, "the refused key was not written");
    // Overwriting or deleting frees room.
    assert.ok((await store.put("k0", "small")).ok);
    assert.ok((await store.put("k9", value)).ok);
    await store.delete("k1");
    assert.ok((await store.put("k10", value)).ok);
    assert.ok(store.totalBytes <= 10_000);
  });

  await t.step("expired entries are swept to make room", async () => {
    let now = 1_000;
    const store = new MemoryStore({ maxTotalBytes: 3_000, now: () => now });
    assert.ok((await store.put("a", "x".repeat(1_400), { expireIn: 1 })).ok);
    assert.ok((await store.put("b", "x".repeat(1_400))).ok);
    await assert.rejects(store.put("c", "x".repeat(1_400)), StoreLimitError);
    now += 2_000;
    assert.ok((await store.put("c", "x".repeat(1_400))).ok, "the expired entry made room");
    assert.equal(store.size, 2);
  });
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

  await t.step("writes sweep expired entries nobody reads again, at most once per interval", async () => {
    let now = 5_000_000;
    const store = new MemoryStore({ now: () => now });
    for (let i = 0; i < 20; i++) assert.ok((await store.put(`run/${i}`, "x".repeat(100), { expireIn: 10 })).ok);
    assert.ok((await store.put("kept", "v")).ok);
    const full = store.totalBytes;
    now += 10_000;
    assert.ok((await store.put("other", "v")).ok);
    assert.equal(store.size, 22, "no sweep yet: the last one ran less than an interval ago");
    now += MEMORY_STORE_SWEEP_INTERVAL_MS;
    assert.ok((await store.put("other", "v2")).ok);
    assert.equal(store.size, 2, "the expired entries are gone without being read");
    assert.ok(store.totalBytes < full / 10, `${store.totalBytes} bytes left of ${full}`);
    assert.equal((await store.get("kept"))?.value, "v");
  });

  await t.step("an unconditional put clears an earlier expiry", async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    await store.put("k", "short", { expireIn: 1 });
    await store.put("k", "long");
    now += 10_000;
    assert.equal((await store.get("k"))?.value, "long");
  });
});
