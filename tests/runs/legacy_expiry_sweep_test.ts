/**
 * The legacy-expiry sweep (lib/runs/legacy_expiry_sweep.ts) on Deno KV on disk. The keys are written as servers from
 * before the run lifecycle wrote them: with no `expireIn`, run records in their old shape (no `seq`, no `blobsUntil`,
 * the state a version 2 state, not packed), cancel flags as `String(Date.now())`, token ledger entries, webhook delivery claims (the
 * oldest servers' `""` marker under an unsigned delivery id, and a run id under a digest), blobs under `blobs/` and
 * under a run's prefix; among them a live run that is stepped over HTTP after the sweep, keys of shapes no writer
 * uses, and a run today's server created (with expiries).
 */

import assert from "node:assert/strict";
import { BlobStore, OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { type LegacySweepReport, sweepLegacyExpiry } from "../../lib/runs/legacy_expiry_sweep.ts";
import { legacyExpiryRules } from "../../lib/runs/legacy_keys.ts";
import { RunLifecycle } from "../../lib/runs/run_lifecycle.ts";
import { apiClient } from "../support/http_client.ts";
import { storeSnapshot } from "../support/kv_snapshot.ts";
import { oldRunRecord, readerState } from "../support/legacy_keys.ts";
import { sqliteDurableObjects } from "../support/sqlite_durable_object.ts";
import { racingStore } from "../support/racing_store.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { KeyListingError } from "../../lib/stores/key_listing.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const DAY = 86_400_000;

/** Every key the store holds with its versionstamp and expiry (the DenoKvStore head's own deadline). */
async function heads(kv: Deno.Kv): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for await (const entry of kv.list<{ e?: number }>({ prefix: ["smolstep", "v"] })) {
    seen.set(entry.key[2] as string, `${entry.versionstamp} ${entry.value.e ?? "never"}`);
  }
  return seen;
}

async function expiryOf(kv: Deno.Kv, key: string): Promise<number | null> {
  const head = await kv.get<{ e?: number }>(["smolstep", "v", key]);
  assert.ok(head.value, `${key} is stored`);
  return head.value.e ?? null;
}

/** What an older deployment left, every key without an expiry; the names of the interesting ones. */
async function legacyDeployment(store: DenoKvStore, agent: ToolCallingAgent) {
  const now = Date.now();
  const start = agent.start("Read the page.");
  const finished = crypto.randomUUID();
  const active = crypto.randomUUID();
  const abandoned = crypto.randomUUID();
  const broken = crypto.randomUUID();
  const activeState = { ...start, updatedAt: now - DAY };
  await store.put(
    `runs/${finished}`,
    oldRunRecord(finished, { ...start, status: "succeeded", updatedAt: now - 30 * DAY }),
  );
  await store.put(`runs/${active}`, oldRunRecord(active, activeState));
  await store.put(`runs/${abandoned}`, oldRunRecord(abandoned, { ...start, updatedAt: now - 8 * DAY }));
  await store.put(`runs/${broken}`, "{ not a record");
  await store.put(`runs/${finished}/cancel`, String(now - 30 * DAY));
  await store.put(`runs/${broken}/cancel`, String(now));
  const orphan = `runs/${crypto.randomUUID()}/cancel`;
  await store.put(orphan, String(now));
  await store.put(`runs/${finished}/notes`, "no writer writes this");
  const finishedBlob = await new BlobStore(store, { prefix: `runs/${finished}/blobs/` }).put("a finished run's page");
  const activeBlob = await new BlobStore(store, { prefix: `runs/${active}/blobs/` }).put("an active run's page");
  const sharedBlob = await new BlobStore(store).put("a stateless step's page");
  const token = "tok_0123456789abcdef";
  await store.put(`tokens/${token}`, JSON.stringify({ status: "used" }));
  await store.put("tokens/tok_garbage_but_long_enough", "not a ledger entry");
  const hook = `hooks/reader/${"ab".repeat(32)}`;
  await store.put(hook, finished);
  await store.put("hooks/reader/delivery-1", "");
  await store.put("hooks/stray", "no agent, no delivery");
  const digest = (ref: string) => /blob:sha256:([0-9a-f]{64})/.exec(ref)![1];
  return {
    finished,
    active,
    activeState,
    abandoned,
    orphan,
    token,
    hook,
    finishedBlob: `runs/${finished}/blobs/${digest(finishedBlob)}`,
    activeBlob: `runs/${active}/blobs/${digest(activeBlob)}`,
    sharedBlob: `blobs/${digest(sharedBlob)}`,
  };
}

const kindCounts = (report: LegacySweepReport) =>
  Object.fromEntries(Object.entries(report.kinds).map(([kind, counts]) => [kind, [counts.legacy, counts.expiring]]));

Deno.test("legacy-expiry sweep on Deno KV: dry run, every kind its expiry from the sweep, a live run steps on, a second sweep writes nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-legacy-" });
  const kv = await Deno.openKv(`${dir}/state.sqlite3`);
  const model = await startScriptedModelServer();
  const store = new DenoKvStore(kv);
  const agent = new ToolCallingAgent({
    name: "reader",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [],
  });
  const smolstep = createSmolstep({ agents: { reader: agent }, store, apiKeys: ["sk-test"] });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`, { apiKey: "sk-test" });
  const lifecycle = new RunLifecycle();
  const rules = legacyExpiryRules(lifecycle);
  try {
    const old = await legacyDeployment(store, agent);
    const { body: today } = await api.post("/v1/agents/reader/runs", { task: "A run of today's server." });
    const before = await heads(kv);
    const values = await storeSnapshot(kv, store);
    assert.equal([...before.values()].filter((head) => head.endsWith("never")).length, 16);

    await t.step("dry run (the default): counts per kind, nothing written", async () => {
      const report = await sweepLegacyExpiry(store, { rules });
      assert.equal(report.apply, false);
      assert.equal(report.cursor, null);
      assert.deepEqual(kindCounts(report), {
        blob: [1, 0],
        run: [3, 1],
        runBlob: [2, 0],
        cancel: [2, 0],
        token: [1, 0],
        hook: [2, 0],
      });
      assert.deepEqual([report.scanned, report.legacy, report.given, report.other, report.orphans], [17, 11, 0, 5, 1]);
      assert.deepEqual(await heads(kv), before);
    });

    const start = Date.now();
    let end = 0;
    await t.step(
      "apply in bounded slices (3 pages of 2 keys), each resumed by its cursor, across the prefixes",
      async () => {
        const reports: LegacySweepReport[] = [];
        let cursor: string | undefined;
        do {
          const report = await sweepLegacyExpiry(store, { rules, apply: true, limit: 2, maxPages: 3, cursor });
          assert.ok(report.pages <= 3);
          reports.push(report);
          cursor = report.cursor ?? undefined;
        } while (cursor !== undefined);
        end = Date.now();
        assert.ok(reports.length >= 4, `${reports.length} slices`);
        const sum = (field: "scanned" | "given" | "changed" | "other") =>
          reports.reduce((total, report) => total + report[field], 0);
        assert.deepEqual([sum("scanned"), sum("given"), sum("changed"), sum("other")], [17, 11, 0, 5]);
      },
    );

    await t.step("each kind has the expiry today's code gives it, counted from the sweep", async () => {
      const within = async (key: string, seconds: number, from = start, to = end) => {
        const expiry = await expiryOf(kv, key);
        assert.ok(expiry !== null, `${key} expires`);
        assert.ok(expiry >= from + seconds * 1000 - 1 && expiry <= to + seconds * 1000 + 1, `${key}: ${expiry}`);
      };
      const week = lifecycle.runTtlSeconds;
      await within(`runs/${old.finished}`, week);
      await within(`runs/${old.finished}/cancel`, week);
      await within(old.finishedBlob, week);
      await within(`runs/${old.abandoned}`, week, start, end);
      // An active run keeps the idle rule's deadline: its last change plus idleRunTtlSeconds + runTtlSeconds.
      const deadline = lifecycle.deadline(old.activeState);
      // (expireIn is counted from the start of the page, so a key written a few ms later expires as much later.)
      for (const key of [`runs/${old.active}`, old.activeBlob]) {
        const expiry = (await expiryOf(kv, key))!;
        assert.ok(expiry >= deadline && expiry <= deadline + (end - start) + 1, `${key}: ${expiry}, not ${deadline}`);
      }
      await within(old.orphan, week);
      // A token sealed now expires stateTtlSeconds from now (whole seconds); its entry a minute later.
      await within(`tokens/${old.token}`, lifecycle.stateTtlSeconds + 60);
      await within(old.hook, 7 * 86_400);
      await within("hooks/reader/delivery-1", 7 * 86_400);
      await within(old.sharedBlob, lifecycle.sharedBlobSeconds);
      for (const key of [`runs/${old.finished}/notes`, "tokens/tok_garbage_but_long_enough", "hooks/stray"]) {
        assert.equal(await expiryOf(kv, key), null, `${key} is not recognised: left alone`);
      }
      assert.equal(await expiryOf(kv, `runs/${today.runId}`), Number(before.get(`runs/${today.runId}`)!.split(" ")[1]));
      assert.deepEqual(await storeSnapshot(kv, store), values, "every key holds the same bytes");
      const touched = [...await heads(kv)].filter(([key, head]) => before.get(key) !== head).map(([key]) => key);
      assert.equal(touched.length, 11, "only the keys given an expiry were written");
    });

    await t.step(
      "the live run from before the lifecycle steps on over HTTP; its commit sets its own expiry",
      async () => {
        model.enqueue(toolCallReply("final_answer", { answer: "read" }));
        const stepped = await api.post(`/v1/runs/${old.active}/steps`);
        assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
        assert.equal(stepped.body.status, "succeeded");
        const record = JSON.parse((await store.get(`runs/${old.active}`))!.value);
        assert.equal(record.seq, 1);
        assert.equal(record.state.version, 5, "the v2 state was migrated and committed as today's");
        assert.ok(record.blobsUntil > Date.now());
        const expiry = (await expiryOf(kv, `runs/${old.active}`))!;
        assert.ok(Math.abs(expiry - (record.state.updatedAt + lifecycle.runTtlSeconds * 1000)) <= 1, `${expiry}`);
        const abandoned = await api.get(`/v1/runs/${old.abandoned}`);
        assert.equal(abandoned.body.status, "expired", "an abandoned run still reads as expired");
        const finished = await api.get(`/v1/runs/${old.finished}`);
        assert.equal(finished.body.status, "succeeded", "a finished run is still there to read");
      },
    );

    await t.step("a second sweep finds nothing without an expiry and writes nothing", async () => {
      const before = await heads(kv);
      const report = await sweepLegacyExpiry(store, { rules, apply: true, limit: 4 });
      assert.deepEqual([report.legacy, report.given, report.changed, report.other], [0, 0, 0, 5]);
      assert.equal(report.expiring, report.scanned - report.other);
      assert.deepEqual(await heads(kv), before);
    });
  } finally {
    await server.shutdown();
    await model.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("legacy-expiry sweep: a run rewritten between the sweep's read and its write keeps its writer's expiry", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new DenoKvStore(kv);
    const runs = [crypto.randomUUID(), crypto.randomUUID()];
    const state = { ...readerState("Read the page."), status: "succeeded" as const };
    for (const runId of runs) await store.put(`runs/${runId}`, oldRunRecord(runId, state));
    // A store where today's server commits the first run (with its own expiry) just before the sweep's write.
    const racing = racingStore(store, `runs/${runs[0]}`);
    const start = Date.now();
    const report = await sweepLegacyExpiry(racing, { rules: legacyExpiryRules(new RunLifecycle()), apply: true });
    assert.deepEqual([report.legacy, report.given, report.changed], [2, 1, 1]);
    assert.deepEqual(report.kinds.run, { expiring: 0, legacy: 2, given: 1, changed: 1 });
    const first = (await expiryOf(kv, `runs/${runs[0]}`))!;
    assert.ok(first >= start + 60_000 && first <= Date.now() + 60_000, "the writer's 60 s stands");
    assert.ok((await expiryOf(kv, `runs/${runs[1]}`))! >= start + 7 * DAY);
  } finally {
    kv.close();
  }
});

Deno.test("Smolstep.sweepLegacyExpiry: the app's own TTL options; a store that cannot list, or none, is refused", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new DenoKvStore(kv);
    const runId = crypto.randomUUID();
    await store.put(`runs/${runId}`, oldRunRecord(runId, { ...readerState("x"), status: "failed" }));
    await store.put(`runs/${runId}/cancel`, String(Date.now()));
    const smolstep = createSmolstep({ agents: {}, store, runTtlSeconds: 3_600 });
    const dry = await smolstep.sweepLegacyExpiry();
    assert.deepEqual([dry.legacy, dry.given, dry.apply], [2, 0, false]);
    const start = Date.now();
    const applied = await smolstep.sweepLegacyExpiry({ apply: true });
    assert.equal(applied.given, 2);
    for (const key of [`runs/${runId}`, `runs/${runId}/cancel`]) {
      const expiry = (await expiryOf(kv, key))!;
      assert.ok(expiry >= start + 3_600_000 && expiry <= Date.now() + 3_600_000, `${key}: ${expiry}`);
    }
  } finally {
    kv.close();
  }
  await assert.rejects(() => createSmolstep({ agents: {} }).sweepLegacyExpiry(), KeyListingError);
  const objects = sqliteDurableObjects();
  try {
    const onObjects = createSmolstep({ agents: {}, store: new DurableObjectStore(objects.namespace) });
    await assert.rejects(() => onObjects.sweepLegacyExpiry(), (error: unknown) => {
      assert.ok(error instanceof KeyListingError);
      assert.equal(error.code, "unsupported");
      return true;
    });
  } finally {
    objects.close();
  }
});

Deno.test("legacy-expiry sweep: a cursor it did not give is refused", async () => {
  const store = new MemoryStore();
  const rules = legacyExpiryRules(new RunLifecycle());
  for (const cursor of ["9:", "garbage"]) {
    await assert.rejects(() => sweepLegacyExpiry(store, { rules, cursor }), (error: unknown) => {
      assert.ok(error instanceof KeyListingError);
      assert.equal(error.code, "invalid_cursor");
      return true;
    });
  }
});
