/**
 * What a Worker's cron trigger does with keys older servers left without an expiry
 * (lib/adapters/cloudflare/scheduled_legacy_sweep.ts), per SMOLSTEP_LEGACY_SWEEP (or its old name
 * SMOLSTEP_SHARED_BLOB_SWEEP), on a MemoryStore and on the Durable Object store (over the real object class on
 * node:sqlite). The same handler under workerd over Workers KV: tests/stores/cloudflare_kv_store_test.ts.
 */

import assert from "node:assert/strict";
import { scheduledLegacySweep, sweepMode } from "../../lib/adapters/cloudflare/scheduled_legacy_sweep.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { BlobStore } from "../../lib/stores/blob_store.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { legacyExpiryRules } from "../../lib/runs/legacy_keys.ts";
import { RunLifecycle } from "../../lib/runs/run_lifecycle.ts";
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

/** `count` legacy blobs, and a token ledger entry, none with an expiry. */
async function legacyStore(count: number) {
  const store = new MemoryStore();
  for (let i = 0; i < count; i++) await new BlobStore(store).put(`legacy ${i}`);
  await store.put("tokens/tok_0123456789abcdef", JSON.stringify({ status: "used" }));
  return store;
}

const expiries = async (store: MemoryStore) =>
  [...(await store.list("blobs/")).keys, ...(await store.list("tokens/")).keys].map((entry) => entry.expiresAt);
/** Shared blobs kept 2 x (150 + 150) = 600 s; ledger entries 60 s + 60 s. */
const rules = legacyExpiryRules(new RunLifecycle({ runTtlSeconds: 150, idleRunTtlSeconds: 150, stateTtlSeconds: 60 }));

Deno.test("scheduled sweep: the mode is dry-run unless set; a typo is refused, never taken for apply", () => {
  assert.equal(sweepMode(undefined), "dry-run");
  assert.equal(sweepMode(""), "dry-run");
  assert.equal(sweepMode("apply"), "apply");
  assert.equal(sweepMode("off"), "off");
  assert.throws(() => sweepMode("yes"), RangeError);
  assert.equal(sweepMode(undefined, "apply"), "apply", "the old name, when the new one is unset");
  assert.equal(sweepMode("off", "apply"), "off", "the new name wins");
  assert.throws(() => sweepMode(undefined, "yes"), RangeError);
});

Deno.test("scheduled sweep: dry-run counts over several triggers and gives no blob an expiry; then apply does", async () => {
  const store = await legacyStore(5);
  const { lines, log } = recorder();
  // Pages: blobs/ 2, 2, 1; runs/ (empty); tokens/ 1; hooks/ (empty): two pages per trigger.
  const slice = { maxPages: 2, limit: 2 };
  for (let i = 0; i < 4; i++) await scheduledLegacySweep(store, { mode: "dry-run", rules, log, slice });
  assert.deepEqual(lines.map((line) => line.fields?.state), ["in_progress", "in_progress", "done", "nothing_left"]);
  assert.equal(lines[2].fields?.legacy, 6);
  assert.deepEqual(lines[2].fields?.kinds, {
    blob: { expiring: 0, legacy: 5, given: 0, changed: 0 },
    run: { expiring: 0, legacy: 0, given: 0, changed: 0 },
    runBlob: { expiring: 0, legacy: 0, given: 0, changed: 0 },
    cancel: { expiring: 0, legacy: 0, given: 0, changed: 0 },
    token: { expiring: 0, legacy: 1, given: 0, changed: 0 },
    hook: { expiring: 0, legacy: 0, given: 0, changed: 0 },
  });
  assert.deepEqual(await expiries(store), Array(6).fill(null));

  for (let i = 0; i < 3; i++) await scheduledLegacySweep(store, { mode: "apply", rules, log, slice });
  assert.deepEqual(lines.slice(4).map((line) => [line.fields?.state, line.fields?.given]), [
    ["in_progress", 4],
    ["in_progress", 5],
    ["done", 6],
  ]);
  const [token, ...blobs] = (await expiries(store)).reverse();
  assert.ok(blobs.every((expiresAt) => expiresAt !== null && expiresAt > Date.now() + 590_000), `${blobs}`);
  assert.ok(token !== null && token > Date.now() + 110_000 && token <= Date.now() + 120_000, `${token}`);
});

Deno.test("scheduled sweep: off does nothing; a Durable Object store is reported as unable to list, nothing written", async () => {
  const store = await legacyStore(2);
  const { lines, log } = recorder();
  await scheduledLegacySweep(store, { mode: "off", rules, log });
  assert.equal(lines.length, 0);
  assert.equal((await store.list("maintenance/")).keys.length, 0);

  const objects = sqliteDurableObjects();
  try {
    await scheduledLegacySweep(new DurableObjectStore(objects.namespace), { mode: "apply", rules, log });
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, "warn");
    assert.match(lines[0].msg, /cannot list "blobs\/"/);
    await scheduledLegacySweep(undefined, { mode: "apply", rules, log });
    assert.match(lines[1].msg, /no store/);
  } finally {
    objects.close();
  }
});
