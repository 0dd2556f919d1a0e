/**
 * CloudflareKvStore against real Workers KV semantics: the store runs inside workerd (`wrangler dev`, local
 * Miniflare KV) behind tests/support/workers/store_harness.ts, and the conformance suite drives it over HTTP.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CloudflareKvStore, type WorkersKvNamespace } from "../../lib/adapters/cloudflare/cloudflare_kv_store.ts";
import { RemoteStore } from "../support/remote_store_client.ts";
import { BlobStore } from "../../lib/stores/blob_store.ts";
import { RunLifecycle } from "../../lib/runs/run_lifecycle.ts";
import { writeOldRun } from "../support/legacy_keys.ts";
import { countingWorkersKv } from "../support/round_trip_counter.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";
import { runStoreConformance } from "./store_conformance.ts";
import { runListingConformance } from "./key_listing_conformance.ts";

const CONFIG = fileURLToPath(
  new URL("../support/workers/store_harness.toml", import.meta.url),
);

Deno.test("CloudflareKvStore under workerd (wrangler dev)", async (t) => {
  const dev = await startWranglerDev({
    config: CONFIG,
    args: ["--test-scheduled"],
    vars: { SMOLSTEP_SHARED_BLOB_SWEEP: "apply" },
  });
  try {
    console.log(`wrangler dev answered after ${dev.startupMs} ms`);
    const info = await (await fetch(dev.url)).json();
    assert.deepEqual(
      info,
      { atomic: false, maxValueBytes: 25 * 1_048_576 },
      "the remote store reports itself as not atomic, taking values up to Workers KV's 25 MiB",
    );
    const remote = new RemoteStore(dev.url, info.atomic, info.maxValueBytes);

    await t.step("cron triggers sweep legacy keys a slice at a time (old variable name), then do nothing", async () => {
      const refs = [];
      for (let i = 0; i < 4; i++) refs.push(await new BlobStore(remote).put(`left by an older server ${i}`));
      const today = await new BlobStore(remote, { expireIn: 3_600 }).put("written by today's server");
      // A finished run in the old record shape with its cancel flag, a ledger entry, a delivery claim: no expiry.
      await writeOldRun(remote, "failed", "ef".repeat(32));
      const blobs = async () => (await remote.list("blobs/")).keys;
      assert.deepEqual((await blobs()).map((entry) => entry.expiresAt === null).sort(), [
        false,
        true,
        true,
        true,
        true,
      ]);
      const progress = async () =>
        JSON.parse((await remote.get("maintenance/legacy-expiry-sweep/apply"))?.value ?? "null");
      const trigger = async () => {
        const response = await fetch(`${dev.url}/__scheduled?cron=*/10+*+*+*+*`);
        assert.equal(response.status, 200, await response.text());
      };
      const start = Date.now();
      await trigger();
      assert.deepEqual([(await progress()).done, (await progress()).totals.scanned], [false, 4]);
      // Two pages of 2 keys per trigger (blobs/ 2, 2 | 1, runs/ 2 | ...): a few more triggers finish the prefixes.
      let triggers = 1;
      while (!(await progress()).done && triggers < 8) await trigger(), triggers++;
      assert.ok(triggers >= 3, `${triggers} triggers`);
      const done = await progress();
      assert.equal(done.done, true);
      assert.deepEqual([done.totals.scanned, done.totals.legacy, done.totals.given, done.totals.expiring], [
        9,
        8,
        8,
        1,
      ]);
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(done.totals.kinds).map(([kind, counts]) => [kind, (counts as { given: number }).given]),
        ),
        { blob: 4, run: 1, runBlob: 0, cancel: 1, token: 1, hook: 1 },
      );
      const end = Date.now();
      const sharedMs = new RunLifecycle().sharedBlobSeconds * 1000;
      for (const entry of await blobs()) {
        const want = entry.key.endsWith(today.slice(12, 76)) ? start + 3_600_000 : start + sharedMs;
        assert.ok(
          Math.abs(entry.expiresAt! - want) < 60_000,
          `${entry.key} expires at ${entry.expiresAt}, not ~${want}`,
        );
      }
      const week = 7 * 86_400_000;
      const others = [...(await remote.list("runs/")).keys, ...(await remote.list("tokens/")).keys];
      others.push(...(await remote.list("hooks/")).keys);
      assert.equal(others.length, 4);
      for (const entry of others) {
        const want = entry.key.startsWith("tokens/") ? week + 60_000 : week;
        // Workers KV keeps whole seconds of expiry.
        assert.ok(
          entry.expiresAt! >= start + want - 1_000 && entry.expiresAt! <= end + want + 1_000,
          `${entry.key} expires at ${entry.expiresAt}, not ~${start + want}`,
        );
      }
      for (const [i, ref] of refs.entries()) {
        assert.equal(await new BlobStore(remote).resolveText(ref), `left by an older server ${i}`);
      }
      await trigger();
      assert.deepEqual(await progress(), done, "once done, a trigger changes nothing");
    });

    await runStoreConformance(
      t,
      () => Promise.resolve({ store: remote, close: () => Promise.resolve() }),
      { expectedMaxValueBytes: 25 * 1_048_576 },
    );

    // Expiry is at least 60 s on Workers KV, so the short-expiry step is left out.
    await t.step(
      "list (Workers KV's own list, with expiration)",
      (t) => runListingConformance(t, remote, { shortExpiry: false }),
    );

    await t.step(
      "expireIn under 60 s is raised to Cloudflare's minimum instead of failing",
      async () => {
        const put = await remote.put("ttl/short", "v", { expireIn: 1 });
        assert.ok(put.ok);
        await new Promise((done) => setTimeout(done, 1_200));
        assert.deepEqual(await remote.get("ttl/short"), {
          value: "v",
          version: put.version,
        });
        assert.ok((await remote.put("ttl/frac", "v", { expireIn: 90.5 })).ok);
      },
    );

    await t.step(
      "keys over Workers KV's 512-byte limit are refused with an error",
      async () => {
        await assert.rejects(
          remote.put("k".repeat(513), "v"),
          /harness answered 500/,
        );
        assert.ok((await remote.put("k".repeat(512), "v")).ok);
      },
    );

    await t.step("the binding's bulk read answers a Map of { value, metadata } (what getMany relies on)", async () => {
      const put = await remote.put("bulk/a", "A");
      assert.ok(put.ok);
      const response = await fetch(`${dev.url}/bulk-probe`, {
        method: "POST",
        body: JSON.stringify({ keys: ["bulk/a", "bulk/missing"] }),
      });
      const probe = await response.json();
      assert.equal(probe.map, true, JSON.stringify(probe));
      const entries = new Map(probe.entries);
      assert.deepEqual(entries.get("bulk/a"), { value: "A", metadata: { v: put.version } });
      const missing = entries.get("bulk/missing") as { value: null } | null;
      assert.ok(missing === null || missing.value === null, JSON.stringify(missing));
    });

    await t.step("a 2 MB value round-trips (no chunking needed)", async () => {
      const value = "0123456789abcdef".repeat(131_072);
      const put = await remote.put("big/2mb", value);
      assert.ok(put.ok);
      assert.ok((await remote.get("big/2mb"))?.value === value);
    });
  } finally {
    await dev.close();
  }
});

Deno.test("CloudflareKvStore passes put options to the namespace", async () => {
  const calls: { key: string; value: string; options: unknown }[] = [];
  const fake: WorkersKvNamespace = {
    getWithMetadata: <M>() => Promise.resolve({ value: null, metadata: null as M | null }),
    put: (key, value, options) => Promise.resolve(void calls.push({ key, value, options })),
    delete: () => Promise.resolve(),
  };
  const store = new CloudflareKvStore(fake);
  const a = await store.put("a", "1", { expireIn: 5 });
  const b = await store.put("b", "2", { expireIn: 120.2 });
  const c = await store.put("c", "3");
  assert.ok(a.ok && b.ok && c.ok);
  assert.deepEqual(calls, [
    {
      key: "a",
      value: "1",
      options: { metadata: { v: a.version }, expirationTtl: 60 },
    },
    {
      key: "b",
      value: "2",
      options: { metadata: { v: b.version }, expirationTtl: 121 },
    },
    { key: "c", value: "3", options: { metadata: { v: c.version } } },
  ]);
});

Deno.test("CloudflareKvStore over an in-memory binding with bulk reads passes the conformance suite", async (t) => {
  await runStoreConformance(t, () =>
    Promise.resolve({
      store: new CloudflareKvStore(countingWorkersKv().binding),
      close: () => Promise.resolve(),
    }));
});

Deno.test("CloudflareKvStore.getMany: one bulk read per 100 keys; parallel reads where the binding has none", async () => {
  const { binding, trips } = countingWorkersKv();
  const store = new CloudflareKvStore(binding);
  const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
  for (const key of keys.slice(0, 120)) await store.put(key, `v ${key}`);
  trips.take();
  const values = await store.getMany(keys);
  assert.deepEqual(values.map((v) => v?.value ?? null), keys.map((key, i) => i < 120 ? `v ${key}` : null));
  assert.deepEqual(trips.take(), { reads: 2, writes: 0 });

  // An older binding takes no array: it answers one (meaningless) entry, not a Map.
  const single: WorkersKvNamespace = {
    getWithMetadata: <M>(key: string | string[]) =>
      Promise.resolve(
        Array.isArray(key)
          ? { value: null, metadata: null as M | null }
          : { value: `v ${key}`, metadata: { v: `ver ${key}` } as M },
      ),
    put: () => Promise.resolve(),
    delete: () => Promise.resolve(),
  };
  const fallback = new CloudflareKvStore(single);
  const expected = [{ value: "v a", version: "ver a" }, { value: "v b", version: "ver b" }];
  assert.deepEqual(await fallback.getMany(["a", "b"]), expected);
  assert.deepEqual(await fallback.getMany(["a", "b"]), expected, "and keeps reading key by key");
});
