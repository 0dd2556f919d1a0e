import assert from "node:assert/strict";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { DeliveryClaims } from "../../lib/webhooks/delivery_claims.ts";

Deno.test("delivery claims expire after their window, so they do not pile up in the store", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const claims = new DeliveryClaims(new DenoKvStore(kv), { lockTtlMs: 60_000, windowSeconds: 1 });
    const first = await claims.claim("triage", "delivery-1");
    assert.equal(first.status, "claimed");
    if (first.status === "claimed") await first.complete("run-1");
    assert.deepEqual(await claims.claim("triage", "delivery-1"), { status: "duplicate", runId: "run-1" });
    const heads = await Array.fromAsync(kv.list<{ e?: number }>({ prefix: ["smolstep", "v"] }));
    assert.equal(heads.length, 1);
    const expiry = heads[0].value.e;
    assert.ok(expiry !== undefined && expiry <= Date.now() + 1_000, `the claim is stored with an expiry (${expiry})`);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiry - Date.now() + 50)));
    assert.equal((await claims.claim("triage", "delivery-1")).status, "claimed", "past the window it is forgotten");
  } finally {
    kv.close();
  }
});

Deno.test("a claim made for a request tells a retry of it from the same key reused for another request", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const claims = new DeliveryClaims(new DenoKvStore(kv), { lockTtlMs: 60_000, windowSeconds: 60 });
    assert.equal(await claims.find(null, "key-1", "ask A"), undefined, "nothing claimed yet");
    const first = await claims.claim(null, "key-1", "ask A");
    assert.equal(first.status, "claimed");
    assert.equal(await claims.find(null, "key-1", "ask A"), undefined, "a pending claim names no run");
    if (first.status === "claimed") await first.complete("run-1");
    assert.deepEqual(await claims.claim(null, "key-1", "ask A"), { status: "duplicate", runId: "run-1" });
    assert.deepEqual(await claims.claim(null, "key-1", "ask B"), {
      status: "duplicate",
      runId: "run-1",
      otherRequest: true,
    });
    assert.equal(await claims.find(null, "key-1", "ask A"), "run-1");
    assert.equal(await claims.find(null, "key-1", "ask B"), undefined);
    // Under no agent's name: an agent's claims of the same key are apart.
    assert.equal((await claims.claim("triage", "key-1")).status, "claimed");
  } finally {
    kv.close();
  }
});
