/**
 * `deno task cli maintenance sweep-blobs` as an operator runs it: a separate process on the server's Deno KV file,
 * holding blobs an older server left under `blobs/` (no expiry) and one today's server wrote (with one).
 */

import assert from "node:assert/strict";
import { BlobStore } from "../../lib/mod.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { runCli } from "../support/cli_process.ts";

/** Each `blobs/` key's stored expiry, or "never" (the Deno KV head's own deadline). */
async function expiries(path: string): Promise<Record<string, string>> {
  const kv = await Deno.openKv(path);
  try {
    const seen: Record<string, string> = {};
    for await (const entry of kv.list<{ e?: number }>({ prefix: ["smolstep", "v"] })) {
      const key = entry.key[2] as string;
      if (key.startsWith("blobs/")) seen[key] = entry.value.e === undefined ? "never" : "expires";
    }
    return seen;
  } finally {
    kv.close();
  }
}

Deno.test("cli maintenance sweep-blobs: dry run, then --apply in bounded pages resumed by cursor, then nothing to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-cli-sweep-" });
  const path = `${dir}/state.sqlite3`;
  try {
    const kv = await Deno.openKv(path);
    const store = new DenoKvStore(kv);
    for (let i = 0; i < 5; i++) await new BlobStore(store).put(`left by an older server ${i}`);
    await new RunService(store).blobs.put("written by today's server");
    kv.close();
    const before = await expiries(path);
    assert.deepEqual(Object.values(before).sort(), ["expires", "never", "never", "never", "never", "never"]);

    const dry = await runCli(["maintenance", "sweep-blobs", "--kv-path", path]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run/);
    assert.match(dry.stdout, /Dry run done: 6 keys scanned, 5 without an expiry, 1 already expiring, 0 not blobs\./);
    assert.deepEqual(await expiries(path), before, "a dry run writes nothing");

    const first = await runCli([
      "maintenance",
      "sweep-blobs",
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
    assert.match(rest.stdout, /Done: 2 keys scanned/);
    assert.doesNotMatch(rest.stdout, /go on with/);
    assert.deepEqual(Object.values(await expiries(path)), Array(6).fill("expires"));

    const again = await runCli(["maintenance", "sweep-blobs", "--apply"], { env: { SMOLSTEP_KV_PATH: path } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /Done: 6 keys scanned, 0 without an expiry, 6 already expiring, 0 not blobs, 0 given an expiry/,
    );

    const bad = await runCli(["maintenance", "sweep-blobs"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--kv-path/);
    const typo = await runCli(["maintenance", "sweep-blobs", "--kv-path", `${path}.typo`]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no Deno KV database file/);
    assert.equal(await Deno.stat(`${path}.typo`).catch(() => null), null, "no database was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
