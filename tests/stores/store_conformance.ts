/**
 * The one conformance suite every `StateStore` passes (memory, Deno KV, Workers KV, Durable Object).
 *
 *   Deno.test("MyStore", (t) => runStoreConformance(t, async () => ({ store, close: async () => {} })));
 *
 * Each step opens a store with `makeStore` and closes it afterwards. Keys carry a fresh random namespace per
 * step, so a factory may hand out views of one shared backend (one `wrangler dev` for a whole file).
 */

import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import type { PutOptions, StateStore } from "../../lib/stores/state_store.ts";
import { StoreLimitError } from "../../lib/stores/store_limit_error.ts";

export interface StoreUnderTest {
  store: StateStore;
  close(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

export interface ConformanceOptions {
  /** Size of the large value, in UTF-16 code units; 300,000 by default. */
  largeValueChars?: number;
  /** Concurrent compare-and-set writers in the race step; 8 by default. */
  writers?: number;
  /** The store's declared `maxValueBytes`, checked before the size-limit step runs (catches a wrong declaration). */
  expectedMaxValueBytes?: number;
}

type Step = (store: StateStore, key: (name: string) => string) => Promise<void>;

export async function runStoreConformance(
  t: Deno.TestContext,
  makeStore: StoreFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const step = (name: string, fn: Step) =>
    t.step(name, async () => {
      const ns = crypto.randomUUID();
      const { store, close } = await makeStore();
      try {
        await fn(store, (name) => `conformance/${ns}/${name}`);
      } finally {
        await close();
      }
    });
  const largeChars = options.largeValueChars ?? 300_000;
  const writers = options.writers ?? 8;

  await step("get of a missing key is null", async (store, key) => {
    assert.equal(await store.get(key("missing")), null);
  });

  await step("put, then get returns value and version", async (store, key) => {
    const version = await mustPut(store, key("a"), "hello");
    assert.equal(typeof version, "string");
    assert.deepEqual(await store.get(key("a")), { value: "hello", version });
    assert.equal(await store.get(key("b")), null, "other keys stay missing");
  });

  await step("every write changes the version", async (store, key) => {
    const seen = new Set<string>();
    for (const value of ["same", "same", "other", ""]) {
      const version = await mustPut(store, key("v"), value);
      assert.ok(!seen.has(version), `version ${version} repeated`);
      seen.add(version);
      assert.deepEqual(await store.get(key("v")), { value, version });
    }
    await store.delete(key("v"));
    const again = await mustPut(store, key("v"), "same");
    assert.ok(!seen.has(again), "a re-created key gets a new version");
  });

  await step("CAS with null only creates", async (store, key) => {
    const version = await mustPut(store, key("c"), "first", {
      expectedVersion: null,
    });
    const second = await store.put(key("c"), "second", {
      expectedVersion: null,
    });
    assert.deepEqual(second, { ok: false });
    assert.deepEqual(await store.get(key("c")), { value: "first", version });
  });

  await step("CAS: current version wins, stale loses", async (store, key) => {
    const v1 = await mustPut(store, key("s"), "one");
    const v2 = await mustPut(store, key("s"), "two", { expectedVersion: v1 });
    assert.notEqual(v2, v1);
    const stale = await store.put(key("s"), "3", { expectedVersion: v1 });
    assert.deepEqual(stale, { ok: false });
    const now = await store.get(key("s"));
    assert.deepEqual(now, { value: "two", version: v2 }, "lost CAS is a no-op");
    const onMissing = await store.put(key("none"), "x", { expectedVersion: v2 });
    assert.deepEqual(onMissing, { ok: false });
    assert.equal(await store.get(key("none")), null, "CAS creates nothing");
  });

  await step("delete, also of a missing key", async (store, key) => {
    const version = await mustPut(store, key("d"), "bye");
    await store.delete(key("d"));
    assert.equal(await store.get(key("d")), null);
    await store.delete(key("d"));
    await store.delete(key("never"));
    const old = await store.put(key("d"), "back", { expectedVersion: version });
    assert.deepEqual(old, { ok: false }, "the deleted version is gone");
    await mustPut(store, key("d"), "back", { expectedVersion: null });
  });

  await step("unicode values round-trip exactly", async (store, key) => {
    const value = 'héllo 🦕🔑 日本語 עברית ğ̈ \u0000\t"q" \\ \n{"a":1}\r\n\u2028.';
    await mustPut(store, key("u"), value);
    assert.equal((await store.get(key("u")))?.value, value);
  });

  await step("large values round-trip, shrink and grow", async (store, key) => {
    const large = bigValue(largeChars);
    const version = await mustPut(store, key("big"), large);
    const got = await store.get(key("big"));
    assert.equal(got?.version, version);
    assert.equal(got?.value.length, large.length);
    assert.ok(got?.value === large, "large value differs");
    await mustPut(store, key("big"), "small");
    assert.equal((await store.get(key("big")))?.value, "small");
    const larger = bigValue(largeChars + 7, "z");
    await mustPut(store, key("big"), larger);
    assert.ok((await store.get(key("big")))?.value === larger, "regrown");
  });

  await step("getMany answers each key as get does, in order, with one call", async (store, key) => {
    assert.deepEqual(await store.getMany([]), []);
    const large = bigValue(largeChars);
    // A run's record and its cancel flag (one Durable Object), another run, a large value, an odd key.
    const names = ["runs/r1", "runs/r1/cancel", "runs/r2", "big", "ключ/🔑 x"];
    const values = ["record", "1", "other", large, "odd"];
    for (const [i, name] of names.entries()) await mustPut(store, key(name), values[i]);
    const asked = ["runs/r1", "missing", "runs/r1/cancel", "big", "runs/r2", "runs/r1", "ключ/🔑 x", "runs/r9"];
    const many = await store.getMany(asked.map(key));
    const one = await Promise.all(asked.map((name) => store.get(key(name))));
    assert.equal(many.length, asked.length);
    for (const [i, name] of asked.entries()) {
      assert.equal(many[i]?.version, one[i]?.version, `version of ${name}`);
      assert.ok(many[i]?.value === one[i]?.value, `value of ${name} differs`);
      assert.equal(many[i] === null, !names.includes(name), `${name} present?`);
    }
    assert.equal(many[0]?.value, "record");
    assert.ok(many[3]?.value === large, "the large value came back different");
    const v2 = await mustPut(store, key("runs/r1/cancel"), "2", { expectedVersion: many[2]!.version });
    await store.delete(key("runs/r1"));
    assert.deepEqual(await store.getMany([key("runs/r1"), key("runs/r1/cancel")]), [null, { value: "2", version: v2 }]);
  });

  await step("keys with odd characters are distinct", async (store, key) => {
    const names = ["a/b", "a:b", "a/b/", "a b", "r:42/s:7", "ключ/🔑", "%2F"];
    names.push("a\\b", "A/B", "..", "a//b");
    for (const name of names) await mustPut(store, key(name), `v ${name}`);
    for (const name of names) {
      assert.equal((await store.get(key(name)))?.value, `v ${name}`);
    }
    await store.delete(key("a/b"));
    assert.equal(await store.get(key("a/b")), null);
    assert.equal((await store.get(key("a/b/")))?.value, "v a/b/");
  });

  await step("expireIn: a fresh value stays readable", async (store, key) => {
    const version = await mustPut(store, key("t"), "v", { expireIn: 3600 });
    assert.deepEqual(await store.get(key("t")), { value: "v", version });
    await mustPut(store, key("t"), "w", {
      expectedVersion: version,
      expireIn: 120,
    });
  });

  await step(
    "a value of exactly maxValueBytes round-trips; one byte more is refused with StoreLimitError",
    async (store, key) => {
      const max = store.maxValueBytes;
      assert.ok(Number.isSafeInteger(max) && max > 0, `maxValueBytes is ${max}`);
      if (options.expectedMaxValueBytes !== undefined) assert.equal(max, options.expectedMaxValueBytes);
      // Counted in UTF-8 bytes, not UTF-16 units: the over-limit value is only `max` code units long.
      const atLimit = "x".repeat(max - 2) + "é";
      const overLimit = "x".repeat(max - 1) + "é";
      const version = await mustPut(store, key("limit"), atLimit);
      const got = await store.get(key("limit"));
      assert.equal(got?.version, version);
      assert.ok(got?.value === atLimit, "the value at the limit came back different");
      for (const options of [{}, { expectedVersion: version }, { expectedVersion: null }]) {
        await assert.rejects(store.put(key("limit"), overLimit, options), (error) => {
          assert.ok(error instanceof StoreLimitError, `not a StoreLimitError: ${error}`);
          assert.equal(error.kind, "value_too_large");
          assert.equal(error.bytes, max + 1);
          assert.equal(error.limit, max);
          return true;
        });
      }
      assert.equal((await store.get(key("limit")))?.version, version, "a refused put changed the stored value");
      await assert.rejects(store.put(key("new"), overLimit, { expectedVersion: null }), StoreLimitError);
      assert.equal(await store.get(key("new")), null, "a refused put created the key");
    },
  );

  await step(`${writers} concurrent CAS writers`, async (store, key) => {
    const base = await mustPut(store, key("race"), "base");
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) => store.put(key("race"), `w${i}`, { expectedVersion: base })),
    );
    const winners = results.flatMap((r, i) => r.ok ? [{ value: `w${i}`, version: r.version }] : []);
    const final = await store.get(key("race"));
    if (store.atomic) {
      assert.equal(winners.length, 1, `${winners.length} writers won`);
      assert.deepEqual(final, winners[0]);
    } else {
      // Not atomic (Workers KV): several may "win"; the last write stands.
      assert.ok(winners.length >= 1, "at least one writer wins");
      assert.ok(winners.some((w) => isDeepStrictEqual(w, final)));
    }
  });
}

/** Puts and asserts success; returns the new version. */
async function mustPut(
  store: StateStore,
  key: string,
  value: string,
  options?: PutOptions,
): Promise<string> {
  const result = await store.put(key, value, options);
  assert.ok(result.ok, `put ${key} was refused`);
  return result.version;
}

/** A deterministic string of 1- to 4-byte UTF-8 characters, `chars` code units long. */
function bigValue(chars: number, seed = "a"): string {
  const pattern = `${seed}bc/é-ж:中{"k":1}🦕`;
  const text = pattern.repeat(Math.ceil(chars / pattern.length));
  return text.slice(0, chars).replace(/[\uD800-\uDBFF]$/, seed);
}
