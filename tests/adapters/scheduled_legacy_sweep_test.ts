/**
 * What a Worker's cron trigger does with legacy shared blobs (lib/adapters/cloudflare/scheduled_blob_sweep.ts), per
 * SMOLSTEP_SHARED_BLOB_SWEEP, on a MemoryStore and on the Durable Object store (over the real object class on
 * node:sqlite). The same handler under workerd over Workers KV: tests/stores/cloudflare_kv_store_test.ts.
 */

import assert from "node:assert/strict";
import { scheduledBlobSweep, sweepMode } from "../../lib/adapters/cloudflare/scheduled_blob_sweep.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { BlobStore } from "../../lib/stores/blob_store.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";

function recorder() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  return {
    lines,
    log: {
      info: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: "info", msg, fields }),
      warn: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: "warn", msg, fields }),
    },
  };
}

async function legacyStore(count: number) {
  const store = new MemoryStore();
  for (let i = 0; i < count; i++) await new BlobStore(store).put(`legacy ${i}`);
  return store;
}

const expiries = async (store: MemoryStore) => (await store.list("blobs/")).keys.map((entry) => entry.expiresAt);

Deno.test("scheduled sweep: the mode is dry-run unless set; a typo is refused, never taken for apply", () => {
  assert.equal(sweepMode(undefined), "dry-run");
  assert.equal(sweepMode(""), "dry-run");
  assert.equal(sweepMode("apply"), "apply");
  assert.equal(sweepMode("off"), "off");
  assert.throws(() => sweepMode("yes"), RangeError);
});

Deno.test("scheduled sweep: dry-run counts over several triggers and gives no blob an expiry; then apply does", async () => {
  const store = await legacyStore(5);
  const { lines, log } = recorder();
  const slice = { maxPages: 1, limit: 2 };
  for (let i = 0; i < 4; i++) await scheduledBlobSweep(store, { mode: "dry-run", expireIn: 600, log, slice });
  assert.deepEqual(lines.map((line) => line.fields?.state), ["in_progress", "in_progress", "done", "nothing_left"]);
  assert.equal(lines[2].fields?.legacy, 5);
  assert.deepEqual(await expiries(store), Array(5).fill(null));

  for (let i = 0; i < 3; i++) await scheduledBlobSweep(store, { mode: "apply", expireIn: 600, log, slice });
  assert.deepEqual(lines.slice(4).map((line) => [line.fields?.state, line.fields?.given]), [
    ["in_progress", 2],
    ["in_progress", 4],
    ["done", 5],
  ]);
  assert.ok((await expiries(store)).every((expiresAt) => expiresAt !== null && expiresAt > Date.now() + 590_000));
});

Deno.test("scheduled sweep: off does nothing; a Durable Object store is reported as unable to list, nothing written", async () => {
  const store = await legacyStore(2);
  const { lines, log } = recorder();
  await scheduledBlobSweep(store, { mode: "off", expireIn: 600, log });
  assert.equal(lines.length, 0);
  assert.equal((await store.list("maintenance/")).keys.length, 0);

  const objects = sqliteDurableObjects();
  try {
    await scheduledBlobSweep(new DurableObjectStore(objects.namespace), { mode: "apply", expireIn: 600, log });
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, "warn");
    assert.match(lines[0].msg, /cannot list "blobs\/"/);
    await scheduledBlobSweep(undefined, { mode: "apply", expireIn: 600, log });
    assert.match(lines[1].msg, /no store/);
  } finally {
    objects.close();
  }
});
