/**
 * The shared-blob sweep (lib/runs/shared_blob_sweep.ts) on Deno KV on disk: blobs an older server left under
 * `blobs/` with no expiry (written the old way: a `BlobStore` with no `expireIn`), beside a live run from before
 * per-run blobs that still refers to one of them, a blob today's stateless steps wrote (with an expiry) and a key
 * that is no blob.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { BlobStore, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { type SharedBlobSweepReport, sweepSharedBlobs } from "../../lib/runs/shared_blob_sweep.ts";
import { KeyListingError } from "../../lib/stores/key_listing.ts";
import type { StateStore } from "../../lib/stores/state_store.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";
import { racingStore } from "../support/racing_store.ts";

const PAGE = `Legacy page. ${"All work and no play makes Jack a dull boy. ".repeat(200)}`;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Reads a long page (kept as a blob) twice, then answers. */
function reader() {
  const readPage = tool({
    name: "read_page",
    description: "Returns a long page.",
    inputs: z.object({ page: z.number().int() }),
    run: ({ page }) => `${PAGE} (page ${page})`,
  });
  let call = 0;
  return new ToolCallingAgent({
    name: "reader",
    model: () => {
      call++;
      const fn = call <= 2
        ? { name: "read_page", arguments: { page: call } }
        : { name: "final_answer", arguments: { answer: "read" } };
      return { content: null, toolCalls: [{ id: `c${call}`, type: "function" as const, function: fn }] };
    },
    tools: [readPage],
    maxSteps: 6,
  });
}

async function withKvFile(fn: (kv: Deno.Kv, store: DenoKvStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-sweep-" });
  const kv = await Deno.openKv(`${dir}/state.sqlite3`);
  try {
    await fn(kv, new DenoKvStore(kv));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every key under `blobs/` with its version and stored expiry (the Deno KV head's own deadline). */
async function sharedSnapshot(kv: Deno.Kv): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for await (const entry of kv.list<{ e?: number }>({ prefix: ["smolstep", "v"] })) {
    const key = entry.key[2] as string;
    if (key.startsWith("blobs/")) seen.set(key, `${entry.versionstamp} ${entry.value.e ?? "never"}`);
  }
  return seen;
}

async function expiryOf(kv: Deno.Kv, key: string): Promise<number | undefined> {
  const head = await kv.get<{ e?: number }>(["smolstep", "v", key]);
  assert.ok(head.value, `${key} is stored`);
  return head.value.e;
}

/** What an older server left: `count` blobs under `blobs/`, no expiry. */
async function legacyBlobs(store: StateStore, count: number): Promise<string[]> {
  const old = new BlobStore(store);
  return await Promise.all(Array.from({ length: count }, (_, i) => old.put(`legacy blob ${i}`)));
}

const digest = (ref: string) => /blob:sha256:([0-9a-f]{64})/.exec(ref)![1];

/** A run as an older server left it: its page blob under `blobs/` only, its record without `blobsUntil`. */
async function legacyRun(store: StateStore, runs: RunService, agent: ToolCallingAgent) {
  const { runId } = await runs.create("reader", agent.start("read"));
  const first = await runs.step(runId, agent);
  const ref = (first.step as { observationsRef?: string }).observationsRef!;
  const sha = digest(ref);
  const blob = (await store.get(`runs/${runId}/blobs/${sha}`))!.value;
  await store.put(`blobs/${sha}`, blob);
  await store.delete(`runs/${runId}/blobs/${sha}`);
  const { blobsUntil: _, ...legacy } = JSON.parse((await store.get(`runs/${runId}`))!.value);
  await store.put(`runs/${runId}`, JSON.stringify(legacy));
  return { runId, ref, sha };
}

const counts = ({ scanned, expiring, legacy, given, changed, other }: SharedBlobSweepReport) => ({
  scanned,
  expiring,
  legacy,
  given,
  changed,
  other,
});

Deno.test("shared-blob sweep on Deno KV: dry run, bounded pages, resume by cursor, a second sweep writes nothing", async (t) => {
  await withKvFile(async (kv, store) => {
    const runs = new RunService(store);
    const expireIn = runs.lifecycle.sharedBlobSeconds;
    const agent = reader();
    const refs = await legacyBlobs(store, 7);
    const live = await legacyRun(store, runs, agent);
    const current = await runs.blobs.put("written by today's stateless step");
    await store.put("blobs/notes", "not a blob");
    const before = await sharedSnapshot(kv);
    assert.equal(before.size, 10);

    await t.step("dry run (the default): every page counted, nothing written", async () => {
      const pages: SharedBlobSweepReport[] = [];
      const report = await sweepSharedBlobs(store, { expireIn, limit: 3, onPage: (page) => pages.push(page) });
      assert.deepEqual(counts(report), { scanned: 10, expiring: 1, legacy: 8, given: 0, changed: 0, other: 1 });
      assert.equal(report.apply, false);
      assert.equal(report.cursor, null);
      assert.deepEqual(pages.map((page) => page.scanned), [3, 6, 9, 10]);
      assert.deepEqual(await sharedSnapshot(kv), before);
    });

    let resumeFrom: string;
    const start = Date.now();
    await t.step("apply, at most two pages of three: stops with a cursor", async () => {
      const report = await sweepSharedBlobs(store, { expireIn, apply: true, limit: 3, maxPages: 2 });
      assert.equal(report.pages, 2);
      assert.equal(report.scanned, 6);
      assert.equal(report.given, report.legacy);
      assert.ok(report.cursor);
      resumeFrom = report.cursor;
      const after = await sharedSnapshot(kv);
      const touched = [...after].filter(([key, state]) => before.get(key) !== state);
      assert.equal(touched.length, report.given, "only the blobs it gave an expiry changed");
    });

    await t.step("resumed from the cursor: the rest, and every legacy blob now expires", async () => {
      const report = await sweepSharedBlobs(store, { expireIn, apply: true, limit: 3, cursor: resumeFrom });
      assert.equal(report.cursor, null);
      assert.equal(report.scanned, 4);
      for (const sha of [...refs.map(digest), live.sha]) {
        const expiry = (await expiryOf(kv, `blobs/${sha}`))!;
        assert.ok(expiry >= start + expireIn * 1000 && expiry <= Date.now() + expireIn * 1000, `blobs/${sha}`);
      }
      const after = await sharedSnapshot(kv);
      assert.equal(after.get(`blobs/${digest(current)}`), before.get(`blobs/${digest(current)}`), "today's blob");
      assert.equal(after.get("blobs/notes"), before.get("blobs/notes"), "a key that is no blob");
      for (const [i, ref] of refs.entries()) {
        assert.equal(await new BlobStore(store).resolveText(ref), `legacy blob ${i}`, "the same bytes, digest checked");
      }
    });

    await t.step("a second sweep finds nothing to do and writes nothing", async () => {
      const before = await sharedSnapshot(kv);
      const report = await sweepSharedBlobs(store, { expireIn, apply: true, limit: 3 });
      assert.deepEqual(counts(report), { scanned: 10, expiring: 9, legacy: 0, given: 0, changed: 0, other: 1 });
      assert.deepEqual(await sharedSnapshot(kv), before);
    });

    await t.step(
      "the live run from before per-run blobs still reads its blob and moves it at its next step",
      async () => {
        assert.equal(await runs.blobsFor(live.runId).resolveText(live.ref), `${PAGE} (page 1)`);
        const next = await runs.step(live.runId, agent);
        assert.ok(next.record.blobsUntil);
        assert.equal(
          await new BlobStore(store, { prefix: `runs/${live.runId}/blobs/` }).resolveText(live.ref),
          `${PAGE} (page 1)`,
        );
      },
    );
  });
});

Deno.test("shared-blob sweep on Deno KV: the store drops the swept blobs at the expiry; a blob rewritten meanwhile is left", async () => {
  await withKvFile(async (kv, store) => {
    // Tiny lifetimes: shared blobs are kept max(2 x (0.25 + 0.25), 2 x 0.25) = 1 s.
    const runs = new RunService(store, { runTtlSeconds: 0.25, idleRunTtlSeconds: 0.25, stateTtlSeconds: 0.25 });
    const refs = await legacyBlobs(store, 3);
    // A store that rewrites one blob between the sweep's read and its write, as a stateless step would.
    const racing = racingStore(store, `blobs/${digest(refs[0])}`);
    const report = await sweepSharedBlobs(racing, { expireIn: runs.lifecycle.sharedBlobSeconds, apply: true });
    assert.deepEqual(counts(report), { scanned: 3, expiring: 0, legacy: 3, given: 2, changed: 1, other: 0 });
    await sleep(1_200);
    const old = new BlobStore(store);
    assert.equal(await old.resolveText(refs[0]), "legacy blob 0", "the racing writer's expiry (60 s) stands");
    for (const ref of refs.slice(1)) await assert.rejects(() => old.resolve(ref), /not in the blob store/);
    assert.deepEqual((await store.list("blobs/")).keys.map((entry) => entry.key), [`blobs/${digest(refs[0])}`]);
    assert.ok(await expiryOf(kv, `blobs/${digest(refs[0])}`));
  });
});

Deno.test("shared-blob sweep: a store that cannot list the shared prefix is refused before anything is read", async () => {
  const objects = sqliteDurableObjects();
  try {
    const stores: StateStore[] = [new DurableObjectStore(objects.namespace)];
    const kv = await Deno.openKv(":memory:");
    const plain = new DenoKvStore(kv);
    stores.push({
      get: plain.get.bind(plain),
      getMany: plain.getMany.bind(plain),
      put: plain.put.bind(plain),
      delete: plain.delete.bind(plain),
      atomic: true,
      maxValueBytes: plain.maxValueBytes,
    });
    for (const store of stores) {
      await assert.rejects(() => sweepSharedBlobs(store, { expireIn: 60 }), (error: unknown) => {
        assert.ok(error instanceof KeyListingError);
        assert.equal(error.code, "unsupported");
        return true;
      });
    }
    kv.close();
  } finally {
    objects.close();
  }
});

Deno.test("Smolstep.sweepLegacyExpiry over blobs/: the app's own shared-blob expiry (its TTL options); no store is refused", async () => {
  await withKvFile(async (kv, store) => {
    const refs = await legacyBlobs(store, 2);
    const smolstep = createSmolstep({ agents: {}, store, stateTtlSeconds: 40 * 24 * 3600 });
    const dry = await smolstep.sweepLegacyExpiry({ prefixes: ["blobs/"] });
    assert.deepEqual(counts(dry), { scanned: 2, expiring: 0, legacy: 2, given: 0, changed: 0, other: 0 });
    const start = Date.now();
    const applied = await smolstep.sweepLegacyExpiry({ prefixes: ["blobs/"], apply: true });
    assert.equal(applied.given, 2);
    // max(2 x (7 + 7) days, 2 x 40 days) = 80 days.
    for (const ref of refs) {
      const expiry = (await expiryOf(kv, `blobs/${digest(ref)}`))!;
      assert.ok(expiry >= start + 80 * 86_400_000 && expiry <= Date.now() + 80 * 86_400_000);
    }
  });
  await assert.rejects(
    () => createSmolstep({ agents: {} }).sweepLegacyExpiry({ prefixes: ["blobs/"] }),
    KeyListingError,
  );
});
