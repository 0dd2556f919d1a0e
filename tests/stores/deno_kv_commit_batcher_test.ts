import assert from "node:assert/strict";
import { HOSTED_BATCH_WRITES, MAX_BATCH_WRITES } from "../../lib/adapters/deno/deno_kv_commit_batcher.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import type { PutResult } from "../../lib/stores/state_store.ts";

/** Runs `fn` with a Deno KV file in a fresh temp dir (commits wait for the disk, as in production). */
async function withKvFile(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-batch-" });
  const kv = await Deno.openKv(`${dir}/state.sqlite3`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("DenoKvStore group commit: concurrent writes share atomic operations, each judged alone", async (t) => {
  await withKvFile(async (kv) => {
    const store = new DenoKvStore(kv);

    await t.step("100 concurrent writes to 100 keys take fewer commits, and all land", async () => {
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`k${i}`, `v${i}`)));
      assert.ok(results.every((r) => r.ok));
      // Writes in one atomic operation share its versionstamp.
      const sizes = batchSizes(results);
      assert.ok(sizes.length < 30, `${sizes.length} commits for 100 writes`);
      assert.ok(Math.max(...sizes) > HOSTED_BATCH_WRITES, `batch sizes ${sizes}: a local file takes more than 10`);
      assert.ok(Math.max(...sizes) <= MAX_BATCH_WRITES, `batch sizes ${sizes}: at most ${MAX_BATCH_WRITES}`);
      for (let i = 0; i < 100; i++) assert.equal((await store.get(`k${i}`))?.value, `v${i}`);
    });

    await t.step("attack: 20 concurrent compare-and-sets on one version of one key: exactly one wins", async () => {
      const base = await store.put("race", "base");
      assert.ok(base.ok);
      // Two writes to other keys take both commit slots, so the 20 wait together for the next batch.
      const others = [store.put("other1", "x"), store.put("other2", "x")];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.put("race", `w${i}`, { expectedVersion: base.version })),
      );
      await Promise.all(others);
      const winners = results.flatMap((r, i) => r.ok ? [i] : []);
      assert.equal(winners.length, 1, `winners: ${winners}`);
      assert.equal((await store.get("race"))?.value, `w${winners[0]}`);
    });

    await t.step("a failed check in a batch fails only its own write", async () => {
      const versions = await Promise.all(Array.from({ length: 12 }, (_, i) => store.put(`c${i}`, "old")));
      const results = await Promise.all(versions.map((v, i) =>
        store.put(`c${i}`, "new", {
          // Every third write checks a version that is not the current one.
          expectedVersion: i % 3 === 0 ? "00000000000000000000" : (v.ok ? v.version : ""),
        })
      ));
      results.forEach((r, i) => assert.equal(r.ok, i % 3 !== 0, `write ${i}`));
      for (let i = 0; i < 12; i++) assert.equal((await store.get(`c${i}`))?.value, i % 3 === 0 ? "old" : "new");
    });

    await t.step("creates and deletes mixed in: each does what it says", async () => {
      await store.put("gone", "x");
      const [created, again, _deleted] = await Promise.all([
        store.put("fresh", "1", { expectedVersion: null }),
        store.put("k1", "2", { expectedVersion: null }), // exists: refused
        store.delete("gone"),
      ]);
      assert.equal(created.ok, true);
      assert.equal(again.ok, false);
      assert.equal(await store.get("gone"), null);
      assert.equal((await store.get("k1"))?.value, "v1");
    });

    await t.step("large values that cannot share one operation still all land", async () => {
      const big = (i: number) => String(i).repeat(300_000);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.put(`big${i}`, big(i))));
      assert.ok(results.every((r) => r.ok));
      for (let i = 0; i < 6; i++) assert.equal((await store.get(`big${i}`))?.value, big(i));
    });
  });
});

/** Writes per atomic operation: the writes of one operation share its versionstamp. */
function batchSizes(results: PutResult[]): number[] {
  const counts = new Map<string, number>();
  for (const result of results) if (result.ok) counts.set(result.version, (counts.get(result.version) ?? 0) + 1);
  return [...counts.values()];
}

/** The handle, with atomic operations of more than `maxChecks` checks refused at commit, as hosted Deno KV does. */
function limitChecks(kv: Deno.Kv, maxChecks: number): { kv: Deno.Kv; refused: () => number } {
  let refused = 0;
  const atomic = () => {
    const op = kv.atomic();
    let checks = 0;
    const check = op.check.bind(op);
    const commit = op.commit.bind(op);
    return Object.assign(op, {
      check: (...args: Deno.AtomicCheck[]) => {
        checks += args.length;
        return check(...args);
      },
      commit: () => {
        if (checks <= maxChecks) return commit();
        refused++;
        return Promise.reject(new TypeError(`Too many checks (max ${maxChecks})`));
      },
    });
  };
  const proxy = new Proxy(kv, {
    get: (target, key) => {
      if (key === "atomic") return atomic;
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: proxy, refused: () => refused };
}

Deno.test("DenoKvStore group commit: a handle refusing batches of more than 10 checks gets batches of 10", async () => {
  await withKvFile(async (file) => {
    const hosted = limitChecks(file, HOSTED_BATCH_WRITES);
    const store = new DenoKvStore(hosted.kv);
    // Two writes take both commit slots, so the 60 wait together and the first batch is as large as allowed.
    const first = [store.put("slot1", "x"), store.put("slot2", "x")];
    // Creates (`expectedVersion: null`), as a token ledger's claims: each write has a check.
    const create = (key: string, value: string) => store.put(key, value, { expectedVersion: null });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => create(`h${i}`, `v${i}`)));
    await Promise.all(first);
    assert.ok(results.every((r) => r.ok), "every write lands, those of the refused batch one by one");
    assert.equal(hosted.refused(), 1, "one batch refused, then batches of at most 10");
    const later = await Promise.all(Array.from({ length: 30 }, (_, i) => create(`l${i}`, `v${i}`)));
    assert.ok(Math.max(...batchSizes(later)) <= HOSTED_BATCH_WRITES, `batch sizes ${batchSizes(later)}`);
    assert.equal(hosted.refused(), 1);
    for (let i = 0; i < 60; i++) assert.equal((await store.get(`h${i}`))?.value, `v${i}`);
  });
});
