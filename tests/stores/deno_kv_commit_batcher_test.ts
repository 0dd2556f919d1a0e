import assert from "node:assert/strict";
import { MAX_BATCH_WRITES } from "../../lib/adapters/deno/deno_kv_commit_batcher.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";

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

    await t.step("30 concurrent writes to 30 keys take fewer commits, and all land", async () => {
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(`k${i}`, `v${i}`)));
      assert.ok(results.every((r) => r.ok));
      // Writes in one atomic operation share its versionstamp.
      const commits = new Set(results.map((r) => r.ok && r.version)).size;
      assert.ok(commits < 30, `${commits} commits for 30 writes`);
      assert.ok(commits >= Math.ceil(30 / MAX_BATCH_WRITES), `${commits} commits: batches hold at most 10`);
      for (let i = 0; i < 30; i++) assert.equal((await store.get(`k${i}`))?.value, `v${i}`);
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
