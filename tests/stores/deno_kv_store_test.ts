import assert from "node:assert/strict";
import { DENO_KV_CHUNK_BYTES, DENO_KV_MAX_VALUE_BYTES, DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { StoreLimitError } from "../../lib/stores/store_limit_error.ts";
import { countingDenoKv } from "../support/round_trip_counter.ts";
import { runStoreConformance } from "./store_conformance.ts";

/** Raw chunk entries (beyond the head) stored for `key` under the default prefix. */
async function chunkCount(kv: Deno.Kv, key: string): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: ["smolstep", "c", key] })) n++;
  return n;
}

/** Runs `fn` with a fresh temp dir holding a SQLite path; removes the dir afterwards. */
async function withTempDb(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-kv-" });
  try {
    await fn(`${dir}/state.sqlite3`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const opened = async (path: string) => {
  const kv = await Deno.openKv(path);
  return {
    store: new DenoKvStore(kv),
    close: () => Promise.resolve(kv.close()),
  };
};

Deno.test("DenoKvStore (:memory:) passes the store conformance suite", async (t) => {
  await runStoreConformance(t, () => opened(":memory:"), { expectedMaxValueBytes: 720_000 });
});

Deno.test("DenoKvStore (SQLite file) passes the store conformance suite", async (t) => {
  await withTempDb((path) => runStoreConformance(t, () => opened(path), { expectedMaxValueBytes: 720_000 }));
});

Deno.test("DenoKvStore chunking on a SQLite file", async (t) => {
  await withTempDb(async (path) => {
    const big = "ab€🦕x".repeat(70_000); // 700,000 bytes of UTF-8: 12 chunks

    await t.step(
      "a large value survives closing and reopening the file",
      async () => {
        let kv = await Deno.openKv(path);
        const put = await new DenoKvStore(kv).put("run/1", big);
        assert.ok(put.ok);
        assert.equal(await chunkCount(kv, "run/1"), 11, "head + 11 chunks");
        kv.close();
        kv = await Deno.openKv(path);
        try {
          assert.deepEqual(await new DenoKvStore(kv).get("run/1"), {
            value: big,
            version: put.version,
          });
        } finally {
          kv.close();
        }
      },
    );

    await t.step(
      "shrinking to fewer chunks deletes the surplus in the same write",
      async () => {
        const kv = await Deno.openKv(path);
        try {
          const store = new DenoKvStore(kv);
          const three = "x".repeat(DENO_KV_CHUNK_BYTES * 2 + 1);
          assert.ok((await store.put("run/1", three)).ok);
          assert.equal(await chunkCount(kv, "run/1"), 2);
          assert.equal((await store.get("run/1"))?.value, three);
          assert.ok((await store.put("run/1", "tiny")).ok);
          assert.equal(
            await chunkCount(kv, "run/1"),
            0,
            "no stale chunk is left to read",
          );
          assert.equal((await store.get("run/1"))?.value, "tiny");
          assert.ok((await store.put("run/1", big)).ok);
          await store.delete("run/1");
          assert.equal(
            await chunkCount(kv, "run/1"),
            0,
            "delete removes every chunk",
          );
          assert.equal(await store.get("run/1"), null);
        } finally {
          kv.close();
        }
      },
    );

    await t.step(
      "a value at the ceiling fits even with a ~1,900-byte key; one byte more throws",
      async () => {
        const kv = await Deno.openKv(path);
        try {
          const store = new DenoKvStore(kv);
          const key = "k/".repeat(950);
          const max = "m".repeat(DENO_KV_MAX_VALUE_BYTES);
          const put = await store.put(key, max);
          assert.ok(put.ok);
          assert.ok((await store.get(key))?.value === max);
          await assert.rejects(store.put(key, max + "!"), StoreLimitError);
          assert.equal(
            (await store.get(key))?.version,
            put.version,
            "the refused write changed nothing",
          );
          assert.ok(
            (await store.put(key, "é".repeat(DENO_KV_MAX_VALUE_BYTES / 2), {
              expectedVersion: put.version,
            })).ok,
          );
        } finally {
          kv.close();
        }
      },
    );

    await t.step(
      "concurrent readers on another connection never see two generations mixed",
      async () => {
        const [writerKv, readerKv] = [
          await Deno.openKv(path),
          await Deno.openKv(path),
        ];
        try {
          const writer = new DenoKvStore(writerKv);
          const reader = new DenoKvStore(readerKv);
          const values = [
            "a".repeat(DENO_KV_CHUNK_BYTES * 3),
            "b".repeat(DENO_KV_CHUNK_BYTES * 5 - 3),
          ];
          await writer.put("mix", values[0]);
          let done = false;
          const writes = (async () => {
            for (let i = 1; i <= 40; i++) {
              assert.ok((await writer.put("mix", values[i % 2])).ok);
            }
            done = true;
          })();
          let reads = 0;
          while (!done) {
            const got = await reader.get("mix");
            assert.ok(
              got !== null && values.includes(got.value),
              "a read returned a mixed or partial value",
            );
            reads++;
          }
          await writes;
          assert.ok(reads > 0);
        } finally {
          writerKv.close();
          readerKv.close();
        }
      },
    );

    await t.step(
      "a writer that gets in between every head and chunk read: the re-read from one snapshot still returns a whole value",
      async () => {
        const [readerKv, writerKv] = [await Deno.openKv(path), await Deno.openKv(path)];
        try {
          const writer = new DenoKvStore(writerKv);
          const values = ["x".repeat(DENO_KV_CHUNK_BYTES * 3), "y".repeat(DENO_KV_CHUNK_BYTES * 4 - 1)];
          await writer.put("racing", values[0]);
          let interleaved = 0;
          // Before every read of chunks alone (not together with their head), the writer replaces the value: a
          // reader that reads the head and then the chunks never sees them match.
          const racingKv = new Proxy(readerKv, {
            get(target, name) {
              if (name !== "getMany") return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
              return async (keys: Deno.KvKey[]) => {
                if (keys.every((key) => key[1] === "c")) {
                  interleaved++;
                  assert.ok((await writer.put("racing", values[interleaved % 2])).ok);
                }
                return await target.getMany(keys);
              };
            },
          });
          const got = await new DenoKvStore(racingKv).get("racing");
          assert.ok(got !== null && values.includes(got.value), "a whole value of one write");
          assert.ok(interleaved >= 1, "the writer got in between the head and the chunks");
        } finally {
          readerKv.close();
          writerKv.close();
        }
      },
    );

    await t.step(
      "a chunk of another generation is never returned",
      async () => {
        const kv = await Deno.openKv(path);
        try {
          const store = new DenoKvStore(kv);
          assert.ok(
            (await store.put("torn", "t".repeat(DENO_KV_CHUNK_BYTES * 2 + 5)))
              .ok,
          );
          await kv.set(["smolstep", "c", "torn", 1], {
            g: "another",
            d: new Uint8Array(5),
          });
          await assert.rejects(store.get("torn"), /did not match/);
        } finally {
          kv.close();
        }
      },
    );
  });
});

Deno.test("DenoKvStore specifics (:memory:)", async (t) => {
  const kv = await Deno.openKv(":memory:");
  try {
    await t.step("prefixes keep stores apart", async () => {
      const a = new DenoKvStore(kv, ["tenant", "a"]);
      const b = new DenoKvStore(kv, ["tenant", "b"]);
      assert.ok((await a.put("k", "from a")).ok);
      assert.equal(await b.get("k"), null);
      assert.equal(await new DenoKvStore(kv).get("k"), null);
      const keys = [];
      for await (const entry of kv.list({ prefix: [] })) keys.push(entry.key);
      assert.deepEqual(keys, [["tenant", "a", "v", "k"]]);
    });

    await t.step(
      "expireIn expires every chunk, and reads honour it at once",
      async () => {
        const store = new DenoKvStore(kv);
        const put = await store.put(
          "ttl",
          "e".repeat(DENO_KV_CHUNK_BYTES + 1),
          { expireIn: 0.3 },
        );
        assert.ok(put.ok);
        assert.equal((await store.get("ttl"))?.version, put.version);
        await new Promise((done) => setTimeout(done, 400));
        assert.equal(await store.get("ttl"), null);
        assert.ok(
          (await store.put("ttl", "new", { expectedVersion: null })).ok,
          "an expired key counts as missing",
        );
        // 1.234 * 1000 is 1234.0000000000002 in floating point, which Deno KV refuses as an expireIn.
        assert.ok((await store.put("ttl-ms", "v", { expireIn: 1.234 })).ok, "expireIn to the millisecond");
      },
    );

    await t.step(
      "concurrent CAS across two connections to one file: exactly one wins",
      async () => {
        await withTempDb(async (path) => {
          const kvs = [await Deno.openKv(path), await Deno.openKv(path)];
          try {
            const base = await new DenoKvStore(kvs[0]).put("race", "base");
            assert.ok(base.ok);
            const results = await Promise.all(
              Array.from(
                { length: 10 },
                (_, i) =>
                  new DenoKvStore(kvs[i % 2]).put("race", `w${i}`, {
                    expectedVersion: base.version,
                  }),
              ),
            );
            assert.equal(results.filter((r) => r.ok).length, 1);
          } finally {
            kvs.forEach((k) => k.close());
          }
        });
      },
    );
  } finally {
    kv.close();
  }
});

Deno.test("DenoKvStore round trips: writes commit once without reading; getMany reads heads together", async (t) => {
  const real = await Deno.openKv(":memory:");
  const { kv, trips } = countingDenoKv(real);
  const store = new DenoKvStore(kv);
  try {
    await t.step("create, compare-and-set, unconditional put, delete: one commit each, no read", async () => {
      const created = await store.put("k", "a", { expectedVersion: null });
      assert.ok(created.ok);
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 });
      const swapped = await store.put("k", "b".repeat(DENO_KV_CHUNK_BYTES * 3), { expectedVersion: created.version });
      assert.ok(swapped.ok);
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 });
      assert.deepEqual(await store.put("k", "c", { expectedVersion: created.version }), { ok: false });
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 }, "a lost compare-and-set reads nothing either");
      assert.deepEqual(await store.put("k", "c", { expectedVersion: null }), { ok: false });
      assert.deepEqual(trips.take(), { reads: 1, writes: 1 }, "a lost create reads the head: it may have expired");
      assert.ok((await store.put("k", "d")).ok);
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 });
      assert.equal(await chunkCount(real, "k"), 0, "the 3-chunk value's chunks went with the blind deletes");
      await store.delete("k");
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 });
    });

    await t.step("getMany: one read for up to 10 heads, one per 10 chunks of a large value", async () => {
      for (let i = 0; i < 12; i++) await store.put(`m${i}`, `v${i}`);
      await store.put("large", "z".repeat(DENO_KV_MAX_VALUE_BYTES));
      trips.take();
      const keys = ["m0", "missing", "m1"];
      assert.deepEqual((await store.getMany(keys)).map((v) => v?.value ?? null), ["v0", null, "v1"]);
      assert.deepEqual(trips.take(), { reads: 1, writes: 0 });
      const twelve = Array.from({ length: 12 }, (_, i) => `m${i}`);
      assert.equal((await store.getMany(twelve)).filter((v) => v).length, 12);
      assert.deepEqual(trips.take(), { reads: 2, writes: 0 }, "Deno KV reads at most 10 keys at once");
      assert.equal((await store.get("large"))?.value.length, DENO_KV_MAX_VALUE_BYTES);
      assert.deepEqual(trips.take(), { reads: 3, writes: 0 }, "the head, then chunks 1-10 and 11");
    });

    await t.step("every chunk count fits with a ~1,900-byte key, with known or blind deletes", async () => {
      const key = "k/".repeat(950);
      let version: string | null = null;
      const known = new DenoKvStore(real);
      for (const blind of [true, false]) {
        for (const n of [12, 1, 2, 6, 11, 12, 3, 1]) {
          // A fresh store has not seen the version, so it deletes all 11 chunk indexes the value might have.
          const writer = blind ? new DenoKvStore(real) : known;
          const value = "é".repeat((DENO_KV_CHUNK_BYTES * n) / 2);
          const put = await writer.put(key, value, { expectedVersion: version });
          assert.ok(put.ok, `a ${n}-chunk value`);
          version = put.version;
          assert.equal(await chunkCount(real, key), n - 1);
          assert.ok((await writer.get(key))?.value === value);
        }
      }
    });

    await t.step("a version replaced by another writer: the unconditional put writes again, blind", async () => {
      const [a, b] = [new DenoKvStore(kv), new DenoKvStore(kv)];
      assert.ok((await a.put("shared", "a".repeat(DENO_KV_CHUNK_BYTES * 2 + 1))).ok); // a knows: 3 chunks
      assert.ok((await b.put("shared", "b".repeat(DENO_KV_CHUNK_BYTES * 7 + 1))).ok); // 8 chunks, unknown to a
      trips.take();
      assert.ok((await a.put("shared", "small")).ok);
      assert.deepEqual(trips.take(), { reads: 0, writes: 2 }, "the checked write failed, the blind one won");
      assert.equal(await chunkCount(real, "shared"), 0, "b's chunks are gone too");
      assert.ok((await a.put("shared", "again")).ok);
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 }, "its own last write is known again");
      const seen = await b.get("shared");
      trips.take();
      assert.ok((await b.put("shared", "c".repeat(DENO_KV_CHUNK_BYTES * 4), { expectedVersion: seen!.version })).ok);
      assert.deepEqual(trips.take(), { reads: 0, writes: 1 }, "a version read is known too");
      assert.equal((await a.get("shared"))?.value.length, DENO_KV_CHUNK_BYTES * 4);
    });
  } finally {
    real.close();
  }
});
