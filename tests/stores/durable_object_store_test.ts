/**
 * DurableObjectStore against real Durable Object semantics: the store and `SmolstepStateObject` (SQLite-backed)
 * run inside workerd (`wrangler dev`, local mode) behind tests/support/workers/do_store_harness.ts, and the
 * conformance suite drives them over HTTP. One wrangler start for the whole file.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  DURABLE_OBJECT_CHUNK_BYTES,
  DURABLE_OBJECT_MAX_KEY_BYTES,
  DURABLE_OBJECT_MAX_VALUE_BYTES,
  DurableObjectStore,
  WIRE,
} from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { RemoteStore } from "../support/remote_store_client.ts";
import { countingDurableObjects } from "../support/round_trip_counter.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";
import { runStoreConformance } from "./store_conformance.ts";
import { runListingConformance } from "./key_listing_conformance.ts";
import { KeyListingError } from "../../lib/stores/key_listing.ts";
import { StoreLimitError } from "../../lib/stores/store_limit_error.ts";

const CONFIG = fileURLToPath(new URL("../support/workers/do_store_harness.toml", import.meta.url));

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function mustPut(store: RemoteStore, key: string, value: string, options = {}): Promise<string> {
  const put = await store.put(key, value, options);
  assert.ok(put.ok, `put ${key} was refused`);
  return put.version;
}

Deno.test("DurableObjectStore under workerd (wrangler dev)", async (t) => {
  const dev = await startWranglerDev({ config: CONFIG });
  try {
    console.log(`wrangler dev answered after ${dev.startupMs} ms`);
    const info = await (await fetch(dev.url)).json();
    assert.deepEqual(
      info,
      { atomic: true, maxValueBytes: DURABLE_OBJECT_MAX_VALUE_BYTES },
      "the remote store reports itself as atomic, with its value ceiling",
    );
    const remote = new RemoteStore(dev.url, info.atomic, info.maxValueBytes);
    const rows = async (object: string) =>
      await (await fetch(`${dev.url}/debug/rows?object=${encodeURIComponent(object)}`)).json();

    const perKey = new RemoteStore(dev.url, info.atomic, info.maxValueBytes, "/per-key-store");
    for (const [name, store] of [["one object per run (default)", remote], ["one object per key", perKey]] as const) {
      await t.step(
        `conformance, ${name}`,
        (t) => runStoreConformance(t, () => Promise.resolve({ store, close: () => Promise.resolve() })),
      );
    }

    await t.step("list: keys of one run's object; a prefix over many objects is refused", async (t) => {
      await runListingConformance(t, remote);
      for (const store of [remote, perKey]) await assert.rejects(() => store.list("blobs/"), KeyListingError);
    });

    await t.step("32 concurrent CAS writers, five rounds: exactly one winner each", async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race32/${round}`;
        const base = await mustPut(remote, key, "base");
        const results = await Promise.all(
          Array.from({ length: 32 }, (_, i) => remote.put(key, `w${i}`, { expectedVersion: base })),
        );
        const winners = results.flatMap((r, i) => r.ok ? [{ value: `w${i}`, version: r.version }] : []);
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        assert.deepEqual(await remote.get(key), winners[0]);
      }
    });

    await t.step("64 concurrent CAS writers inside the Worker, ten rounds: exactly one winner each", async () => {
      for (let round = 0; round < 10; round++) {
        const response = await fetch(`${dev.url}/race`, {
          method: "POST",
          body: JSON.stringify({ key: `race64/${round}`, writers: 64 }),
        });
        const { winners, final } = await response.json();
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        assert.deepEqual(final, winners[0]);
      }
    });

    await t.step("read-modify-write loops lose no update (4 clients x 10 increments)", async () => {
      const key = "counter/rmw";
      await mustPut(remote, key, "0");
      const client = async () => {
        for (let done = 0; done < 10;) {
          const current = await remote.get(key);
          assert.ok(current);
          const next = String(Number(current.value) + 1);
          if ((await remote.put(key, next, { expectedVersion: current.version })).ok) done++;
        }
      };
      await Promise.all([client(), client(), client(), client()]);
      assert.equal((await remote.get(key))?.value, "40");
    });

    await t.step("a value of exactly the ceiling round-trips in 25 chunks; one byte more is refused", async () => {
      const max = "0123456789abcdef".repeat(DURABLE_OBJECT_MAX_VALUE_BYTES / 16);
      const version = await mustPut(remote, "big/max", max);
      assert.deepEqual(await rows("big/max"), { tables: true, entries: 1, chunks: 25 });
      const got = await remote.get("big/max");
      assert.equal(got?.version, version);
      assert.ok(got?.value === max, "max-size value differs");
      await assert.rejects(
        remote.put("big/max", max + "x"),
        (error) => error instanceof StoreLimitError && error.bytes === 26214401 && error.limit === 26214400,
      );
      assert.equal((await remote.get("big/max"))?.version, version, "the refused put changed nothing");
      await remote.delete("big/max");
      assert.deepEqual(await rows("big/max"), { tables: false }, "deleting the last entry drops the tables");
    });

    await t.step("multi-byte characters split across chunk boundaries come back whole", async () => {
      // 13 bytes per repeat after a 1-byte offset: the 1 MiB boundaries fall inside multi-byte characters.
      const value = "x" + "日本語🦕".repeat(Math.ceil((3 * DURABLE_OBJECT_CHUNK_BYTES) / 13) + 1);
      await mustPut(remote, "big/utf8", value);
      assert.ok((await remote.get("big/utf8"))?.value === value);
      assert.equal((await rows("big/utf8")).chunks, 4);
      await mustPut(remote, "big/utf8", "shrunk");
      assert.deepEqual(await rows("big/utf8"), { tables: true, entries: 1, chunks: 1 });
    });

    await t.step("a leading byte order mark and the empty string survive", async () => {
      await mustPut(remote, "bom", "\uFEFF{}");
      assert.equal((await remote.get("bom"))?.value, "\uFEFF{}");
      await mustPut(remote, "empty", "");
      assert.equal((await remote.get("empty"))?.value, "");
      assert.deepEqual(await rows("empty"), { tables: true, entries: 1, chunks: 0 });
    });

    await t.step("an expired value reads as missing and loses its version at once", async () => {
      const version = await mustPut(remote, "ttl/lazy", "v", { expireIn: 1 });
      await sleep(1_100);
      assert.equal(await remote.get("ttl/lazy"), null);
      assert.deepEqual(await remote.put("ttl/lazy", "w", { expectedVersion: version }), { ok: false });
      await mustPut(remote, "ttl/lazy", "fresh", { expectedVersion: null });
      await sleep(1_000);
      assert.equal((await remote.get("ttl/lazy"))?.value, "fresh", "a put without expireIn clears the expiry");
    });

    await t.step("the alarm deletes expired rows without anyone reading them", async () => {
      await mustPut(remote, "ttl/alarm", "y".repeat(DURABLE_OBJECT_CHUNK_BYTES + 1), { expireIn: 1 });
      assert.deepEqual(await rows("ttl/alarm"), { tables: true, entries: 1, chunks: 2 });
      let seen = await rows("ttl/alarm");
      for (let i = 0; i < 40 && seen.tables; i++) seen = (await sleep(250), await rows("ttl/alarm"));
      assert.deepEqual(seen, { tables: false });
    });

    await t.step(`keys up to ${DURABLE_OBJECT_MAX_KEY_BYTES} bytes; longer or malformed ones are refused`, async () => {
      const longest = "ключ/" + "k".repeat(DURABLE_OBJECT_MAX_KEY_BYTES - 9);
      await mustPut(remote, longest, "v");
      assert.equal((await remote.get(longest))?.value, "v");
      await assert.rejects(remote.put(longest + "k", "v"), /RangeError/);
      await assert.rejects(remote.get("lone \uD800 surrogate"), /URIError/);
    });

    await t.step("a run's keys share one object; reads of missing keys store nothing", async () => {
      const v1 = await mustPut(remote, "runs/g1", "state", { expectedVersion: null });
      await mustPut(remote, "runs/g1/cancel", "1");
      await mustPut(remote, "runs/g1/blob/a", "a", { expireIn: 3600 });
      assert.deepEqual(await rows("runs/g1"), { tables: true, entries: 3, chunks: 3 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => remote.put("runs/g1", `w${i}`, { expectedVersion: v1 })),
      );
      assert.equal(results.filter((r) => r.ok).length, 1, "still atomic per key");
      await remote.delete("runs/g1/cancel");
      assert.equal(await remote.get("runs/g1/cancel"), null);
      assert.equal((await remote.get("runs/g1/blob/a"))?.value, "a");
      for (const key of ["runs/g1", "runs/g1/blob/a"]) await remote.delete(key);
      assert.deepEqual(await rows("runs/g1"), { tables: false });
      assert.equal(await remote.get("runs/never/written"), null);
      assert.deepEqual(await rows("runs/never"), { tables: false });
      await mustPut(perKey, "runs/g2/a", "a");
      assert.deepEqual(await rows("runs/g2/a"), { tables: true, entries: 1, chunks: 1 });
      assert.deepEqual(await rows("runs/g2"), { tables: false });
    });
  } catch (error) {
    console.error(dev.logs());
    throw error;
  } finally {
    await dev.close();
  }
});

Deno.test("DurableObjectStore client: routing, headers and limits (fake namespace)", async (t) => {
  const sent: { name: string; method: string; headers: Record<string, string> }[] = [];
  const namespace = {
    idFromName: (name: string) => ({ name }),
    get: (id: unknown) => ({
      fetch(request: Request): Promise<Response> {
        const headers = Object.fromEntries([...request.headers].filter(([h]) => h.startsWith("x-smolstep-")));
        sent.push({ name: (id as { name: string }).name, method: request.method, headers });
        const ok = request.method === "DELETE" ? new Response(null, { status: 204 }) : new Response("v", {
          headers: { [WIRE.version]: "v1" },
        });
        return Promise.resolve(ok);
      },
    }),
  };

  await t.step("one object per run by default, or per objectName", async () => {
    sent.length = 0;
    const store = new DurableObjectStore(namespace);
    for (const key of ["runs/abc", "runs/abc/cancel", "runs/abc/blob/1", "flat", "a//b"]) await store.get(key);
    await new DurableObjectStore(namespace, { objectName: (key) => key }).delete("runs/abc/cancel");
    assert.deepEqual(sent.map((s) => [s.name, s.method]), [
      ["runs/abc", "GET"],
      ["runs/abc", "GET"],
      ["runs/abc", "GET"],
      ["flat", "GET"],
      ["a/", "GET"],
      ["runs/abc/cancel", "DELETE"],
    ]);
  });

  await t.step("put options travel as headers", async () => {
    sent.length = 0;
    const store = new DurableObjectStore(namespace);
    assert.deepEqual(await store.put("k é", "x", { expectedVersion: null, expireIn: 1.5 }), {
      ok: true,
      version: "v1",
    });
    await store.put("k", "x", { expectedVersion: "v0" });
    await store.put("k", "x");
    assert.deepEqual(sent.map((s) => s.headers), [
      { [WIRE.key]: "k%20%C3%A9", [WIRE.expected]: "null", [WIRE.expireIn]: "1.5" },
      { [WIRE.key]: "k", [WIRE.expected]: "%22v0%22" },
      { [WIRE.key]: "k" },
    ]);
  });

  await t.step("oversized values and keys, and bad expireIn, throw before anything is sent", async () => {
    sent.length = 0;
    const store = new DurableObjectStore(namespace);
    await assert.rejects(store.put("k", "é".repeat(DURABLE_OBJECT_MAX_VALUE_BYTES / 2 + 1)), StoreLimitError);
    await assert.rejects(store.get("k".repeat(DURABLE_OBJECT_MAX_KEY_BYTES + 1)), RangeError);
    await assert.rejects(store.put("k", "v", { expireIn: -1 }), RangeError);
    await assert.rejects(store.put("k", "v", { expireIn: NaN }), RangeError);
    assert.equal(sent.length, 0);
  });
});

Deno.test("DurableObjectStore over SmolstepStateObject on node:sqlite passes the conformance suite", async (t) => {
  const objects = sqliteDurableObjects();
  try {
    await runStoreConformance(
      t,
      () => Promise.resolve({ store: new DurableObjectStore(objects.namespace), close: () => Promise.resolve() }),
    );
  } finally {
    objects.close();
  }
});

Deno.test("DurableObjectStore.getMany: one request per object, keys of one run together", async () => {
  const { namespace, trips, close } = countingDurableObjects();
  try {
    const store = new DurableObjectStore(namespace);
    for (const key of ["runs/a", "runs/a/cancel", "runs/b"]) assert.ok((await store.put(key, key)).ok);
    trips.take();
    const [a, flag] = await store.getMany(["runs/a", "runs/a/cancel"]);
    assert.deepEqual([a?.value, flag?.value], ["runs/a", "runs/a/cancel"]);
    assert.deepEqual(trips.take(), { reads: 1, writes: 0 }, "a run's record and flag: one request");
    const values = await store.getMany(["runs/b", "runs/a", "runs/c/cancel", "runs/a/cancel"]);
    assert.deepEqual(values.map((v) => v?.value ?? null), ["runs/b", "runs/a", null, "runs/a/cancel"]);
    assert.deepEqual(trips.take(), { reads: 3, writes: 0 }, "three objects, three requests");
    await assert.rejects(store.getMany(["ok", "lone \uD800 surrogate"]), URIError);
    assert.equal(trips.take().reads, 0, "a bad key is refused before anything is sent");
  } finally {
    close();
  }
});
