/**
 * `deno task cli maintenance sweep` (and its old name `sweep-blobs`) as an operator runs it: a separate process on
 * the server's Deno KV file, holding keys an older server left without an expiry (blobs under `blobs/`, a finished
 * run's record in its old shape and its cancel flag, a token ledger entry, a webhook delivery claim) and a blob
 * today's server wrote (with one).
 */

import assert from "node:assert/strict";
import { BlobStore } from "../../lib/mod.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { runCli } from "../support/cli_process.ts";
import { writeOldRun } from "../support/legacy_keys.ts";

/** Each key's stored expiry (epoch ms), or "never" (the Deno KV head's own deadline). */
async function expiries(path: string): Promise<Record<string, number | "never">> {
  const kv = await Deno.openKv(path);
  try {
    const seen: Record<string, number | "never"> = {};
    for await (const entry of kv.list<{ e?: number }>({ prefix: ["smolstep", "v"] })) {
      seen[entry.key[2] as string] = entry.value.e ?? "never";
    }
    return seen;
  } finally {
    kv.close();
  }
}

Deno.test("cli maintenance sweep: dry run, then --apply in bounded pages resumed by cursor, then nothing to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-cli-sweep-" });
  const path = `${dir}/state.sqlite3`;
  try {
    const kv = await Deno.openKv(path);
    const store = new DenoKvStore(kv);
    for (let i = 0; i < 5; i++) await new BlobStore(store).put(`left by an older server ${i}`);
    await new RunService(store).blobs.put("written by today's server");
    const runId = await writeOldRun(store, "succeeded", "cd".repeat(32));
    kv.close();
    const before = await expiries(path);
    assert.equal(Object.values(before).filter((expiry) => expiry === "never").length, 9);

    const dry = await runCli(["maintenance", "sweep", "--kv-path", path]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run/);
    assert.match(
      dry.stdout,
      /Dry run done: 10 keys scanned, 9 without an expiry, 1 already expiring, 0 not recognised \(left\)\./,
    );
    assert.match(dry.stdout, /per kind: blob 5 without, 1 expiring; run 1 without, 0 expiring; runBlob 0 without/);
    assert.deepEqual(await expiries(path), before, "a dry run writes nothing");

    const start = Date.now();
    const first = await runCli([
      "maintenance",
      "sweep",
      "--kv-path",
      path,
      "--apply",
      "--limit",
      "2",
      "--max-pages",
      "2",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const cursor = /go on with --cursor (\S+)/.exec(first.stdout)?.[1];
    assert.ok(cursor, first.stdout);
    assert.match(first.stdout, /Done: 4 keys scanned/);

    // The old name sweeps every prefix too.
    const rest = await runCli([
      "maintenance",
      "sweep-blobs",
      `--kv-path=${path}`,
      "--apply",
      "--limit",
      "2",
      "--cursor",
      cursor,
    ]);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, /Done: 6 keys scanned, 5 without an expiry, 1 already expiring/);
    assert.doesNotMatch(rest.stdout, /go on with/);
    const after = await expiries(path);
    const end = Date.now();
    assert.ok(Object.values(after).every((expiry) => expiry !== "never"), JSON.stringify(after));
    const week = 7 * 86_400_000;
    const near = (key: string, ms: number) =>
      assert.ok(after[key] as number >= start + ms && after[key] as number <= end + ms, `${key}: ${after[key]}`);
    near(`runs/${runId}`, week);
    near(`runs/${runId}/cancel`, week);
    near("tokens/tok_0123456789abcdef", week + 60_000);
    near(`hooks/reader/${"cd".repeat(32)}`, week);

    const again = await runCli(["maintenance", "sweep", "--apply"], { env: { SMOLSTEP_KV_PATH: path } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /Done: 10 keys scanned, 0 without an expiry, 10 already expiring, 0 not recognised \(left\), 0 given an expiry/,
    );
    assert.deepEqual(await expiries(path), after, "a second sweep writes nothing");

    const bad = await runCli(["maintenance", "sweep"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--kv-path/);
    const typo = await runCli(["maintenance", "sweep", "--kv-path", `${path}.typo`]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no Deno KV database file/);
    assert.equal(await Deno.stat(`${path}.typo`).catch(() => null), null, "no database was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
