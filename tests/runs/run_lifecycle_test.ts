import assert from "node:assert/strict";
import { z } from "zod";
import { BlobStore, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { StateTokenCodec } from "../../lib/runs/state_token.ts";
import { RunError } from "../../lib/runs/run_record.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { RunLifecycle } from "../../lib/runs/run_lifecycle.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { functionModel } from "../support/function_model.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PAGE = `Shared page. ${"All work and no play makes Jack a dull boy. ".repeat(200)}`;

/** An agent that reads a long page (stored as a blob) `pages` times, then answers. */
function reader(pages: number) {
  const readPage = tool({
    name: "read_page",
    description: "Returns a long page.",
    inputs: z.object({ page: z.number().int() }),
    run: ({ page }) => page === 0 ? PAGE : `${PAGE} (page ${page})`,
  });
  let call = 0;
  return new ToolCallingAgent({
    name: "reader",
    model: () => {
      call++;
      const fn = call <= pages
        ? { name: "read_page", arguments: { page: call === 1 ? 0 : call } }
        : { name: "final_answer", arguments: { answer: "read" } };
      return { content: null, toolCalls: [{ id: `c${call}`, type: "function" as const, function: fn }] };
    },
    tools: [readPage],
    maxSteps: pages + 5,
  });
}

function answerer() {
  const { model } = functionModel([{ calls: [["final_answer", { answer: "done" }]] }]);
  return new ToolCallingAgent({ name: "answerer", model });
}

async function withKv(fn: (kv: Deno.Kv, store: DenoKvStore) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv, new DenoKvStore(kv));
  } finally {
    kv.close();
  }
}

/** The expiry (epoch ms) DenoKvStore wrote with a key's head, if any. */
async function storedExpiry(kv: Deno.Kv, key: string): Promise<number | undefined> {
  const head = await kv.get<{ e?: number }>(["smolstep", "v", key]);
  assert.ok(head.value, `${key} is not stored`);
  return head.value.e;
}

/**
 * The stored expiry is the deadline computed from the state, give or take the milliseconds between computing
 * `expireIn` and the store's own clock reading: never earlier, and well under a second later.
 */
function assertNear(actual: number | undefined, deadline: number, what: string) {
  assert.ok(
    actual !== undefined && actual >= deadline && actual < deadline + 1_000,
    `${what}: ${actual} vs ${deadline}`,
  );
}

Deno.test("run lifecycle: a finished run is written with runTtlSeconds and reads as gone once it passes", async () => {
  await withKv(async (kv, store) => {
    const runs = new RunService(store, { runTtlSeconds: 1, idleRunTtlSeconds: 3600 });
    const agent = answerer();
    const { runId, state } = await runs.create("answerer", agent.start("task"));
    assertNear(await storedExpiry(kv, `runs/${runId}`), state.updatedAt + 3601_000, "active: idle + ttl");
    const outcome = await runs.step(runId, agent);
    assert.equal(outcome.record.state.status, "succeeded");
    assertNear(await storedExpiry(kv, `runs/${runId}`), outcome.record.state.updatedAt + 1_000, "finished: ttl");
    await sleep(Math.max(0, outcome.record.state.updatedAt + 1_050 - Date.now()));
    assert.equal(await runs.get(runId), null, "the finished run is gone after its TTL");
    await assert.rejects(runs.step(runId, agent), (e: Error) => e instanceof RunError && e.code === "run_not_found");
  });
});

Deno.test("run lifecycle: an abandoned active run reads as expired, takes no step, and goes a TTL later", async () => {
  await withKv(async (kv, store) => {
    const runs = new RunService(store, { runTtlSeconds: 1, idleRunTtlSeconds: 1 });
    const agent = answerer();
    const { runId, state } = await runs.create("answerer", agent.start("task"));
    assert.equal((await runs.get(runId))?.record.state.status, "running");
    await sleep(Math.max(0, state.updatedAt + 1_050 - Date.now()));

    const found = await runs.get(runId);
    assert.equal(found?.record.state.status, "expired");
    assert.equal(JSON.parse(found!.stored).state.status, "running", "expired is computed on read, never written");
    await assert.rejects(runs.step(runId, agent), (e: Error) => e instanceof RunError && e.code === "run_finished");
    await assert.rejects(
      runs.cancel(runId),
      (e: Error) => e instanceof RunError && e.code === "run_finished" && /'expired'/.test(e.message),
      "cancel leaves an ended run alone",
    );
    assert.equal(await runs.fail(runId, { type: "X", message: "late" }).then((r) => r?.state.status), "expired");
    assert.equal(JSON.parse((await store.get(`runs/${runId}`))!.value).state.status, "running", "nothing written");

    await sleep(Math.max(0, state.updatedAt + 2_050 - Date.now()));
    assert.equal(await runs.get(runId), null, "dropped runTtlSeconds after it started reading as expired");
    assert.equal(await kv.get(["smolstep", "v", `runs/${runId}/cancel`]).then((e) => e.value), null);
  });
});

Deno.test("run lifecycle: a run with a step in flight is not abandoned, whatever its age", () => {
  const lifecycle = new RunLifecycle({ idleRunTtlSeconds: 1, runTtlSeconds: 1 });
  const state = { ...answerer().start("task"), updatedAt: Date.now() - 5_000 };
  assert.equal(lifecycle.isAbandoned(state, null), true);
  assert.equal(lifecycle.isAbandoned(state, { expiresAt: Date.now() + 60_000 }), false, "a live lock");
  assert.equal(lifecycle.isAbandoned(state, { expiresAt: Date.now() - 1 }), true, "an expired lock");
  assert.equal(lifecycle.isAbandoned({ ...state, status: "succeeded" }, null), false, "finished runs just expire");
  assert.throws(() => new RunLifecycle({ runTtlSeconds: 0 }), RangeError);
});

Deno.test("run lifecycle: the cancel flag expires with the run", async () => {
  await withKv(async (kv, store) => {
    const runs = new RunService(store, { runTtlSeconds: 1, idleRunTtlSeconds: 1 });
    // The flag is written only when a cancel meets a step in flight (an idle run is cancelled in its record).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const agent = new ToolCallingAgent({
      name: "answerer",
      model: async () => {
        await gate;
        return { content: "Finishing." };
      },
    });
    const { runId, state } = await runs.create("answerer", agent.start("task"));
    const stepping = runs.step(runId, agent);
    while (!(await runs.get(runId))?.record.lock) await sleep(5);
    const pending = await runs.cancel(runId);
    assert.equal(pending.state.status, "running", "the step in flight holds the run");
    release();
    const cancelled = (await stepping).record;
    assert.equal(cancelled.state.status, "cancelled", "the step's commit applied the cancellation");
    const flagExpiry = await storedExpiry(kv, `runs/${runId}/cancel`);
    assert.ok(flagExpiry !== undefined && flagExpiry <= state.updatedAt + 2_000 + 1_000, `flag expiry ${flagExpiry}`);
    assertNear(await storedExpiry(kv, `runs/${runId}`), cancelled.state.updatedAt + 1_000, "cancelled: ttl");
    await sleep(Math.max(0, flagExpiry - Date.now() + 50));
    assert.equal(await store.get(`runs/${runId}/cancel`), null, "the cancel flag is gone");
    assert.equal(await store.get(`runs/${runId}`), null, "so is the run");
  });
});

Deno.test("run lifecycle: blobs are per run; deleting a run removes exactly its blobs, flag and record", async (t) => {
  await withKv(async (kv, store) => {
    const runs = new RunService(store);
    const agent = reader(1);
    const a = await runs.create("reader", agent.start("read"));
    const b = await runs.create("reader", reader(1).start("read"));
    const stepA = await runs.step(a.runId, agent);
    const stepB = await runs.step(b.runId, reader(1));
    const ref = (stepA.step as { observationsRef?: string }).observationsRef!;
    assert.match(ref, /^blob:sha256:[0-9a-f]{64}/);
    assert.equal((stepB.step as { observationsRef?: string }).observationsRef, ref, "identical content, same ref");
    const sha = ref.slice("blob:sha256:".length, "blob:sha256:".length + 64);

    await t.step("each run holds its own copy, expiring no earlier than the run", async () => {
      for (const run of [a, b]) {
        const blobExpiry = await storedExpiry(kv, `runs/${run.runId}/blobs/${sha}`);
        const stored = (await runs.get(run.runId))!;
        assert.ok(blobExpiry! >= runs.lifecycle.deadline(stored.record.state), "the blob outlives the record");
        assert.ok(stored.record.blobsUntil! <= blobExpiry!, "blobsUntil is a lower bound of every blob's expiry");
      }
      assert.equal(await store.get(`blobs/${sha}`), null, "nothing in the shared prefix");
    });

    await t.step("DELETE of one run leaves the other's identical content readable", async () => {
      await runs.cancel(a.runId); // leaves a cancel flag to delete
      await runs.delete(a.runId);
      assert.equal(await store.get(`runs/${a.runId}`), null);
      assert.equal(await store.get(`runs/${a.runId}/cancel`), null);
      assert.equal(await store.get(`runs/${a.runId}/blobs/${sha}`), null);
      assert.equal(await runs.blobsFor(b.runId).resolveText(ref), PAGE);
      const done = await runs.step(b.runId, reader(0));
      assert.equal(done.record.state.status, "succeeded", "the other run goes on");
      await assert.rejects(runs.delete(a.runId), (e: Error) => e instanceof RunError && e.code === "run_not_found");
    });

    await t.step("a run with a step in flight is not deleted", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => release = resolve);
      const slow = new ToolCallingAgent({
        name: "slow",
        model: async () => {
          await gate;
          return {
            content: null,
            toolCalls: [{ id: "c", type: "function", function: { name: "final_answer", arguments: { answer: 1 } } }],
          };
        },
      });
      const { runId } = await runs.create("slow", slow.start("task"));
      const stepping = runs.step(runId, slow);
      await sleep(20);
      const other = new RunService(store); // another isolate: only the stored lock stops it
      await assert.rejects(other.delete(runId), (e: Error) => e instanceof RunError && e.code === "step_in_progress");
      await assert.rejects(runs.delete(runId), (e: Error) => e instanceof RunError && e.code === "step_in_progress");
      release();
      assert.equal((await stepping).record.state.status, "succeeded", "the step committed");
      await runs.delete(runId);
      assert.equal(await runs.get(runId), null);
    });
  });
});

Deno.test("run lifecycle: a run active past blobSeconds/2 rewrites its blobs, so none expires before the run", async () => {
  await withKv(async (kv, store) => {
    // blobSeconds = 2 * (1 + 1) = 4: blobs are written to live 4 s, and a record to live at most 2 s past a write.
    const runs = new RunService(store, { runTtlSeconds: 1, idleRunTtlSeconds: 1 });
    const agent = reader(30);
    const { runId, blobsUntil: created } = await runs.create("reader", agent.start("read"));
    const first = await runs.step(runId, agent);
    const ref = (first.step as { observationsRef?: string }).observationsRef!;
    const sha = ref.slice("blob:sha256:".length, "blob:sha256:".length + 64);
    const firstExpiry = (await storedExpiry(kv, `runs/${runId}/blobs/${sha}`))!;
    // Step every 400 ms (well inside the 1 s idle limit) until past the first blob's original expiry.
    let last = first;
    while (Date.now() < firstExpiry + 200) {
      await sleep(400);
      last = await runs.step(runId, agent);
      assert.equal(last.record.state.status, "running");
    }
    assert.ok(last.record.blobsUntil! > created!, "blobsUntil moved out");
    assert.ok((await storedExpiry(kv, `runs/${runId}/blobs/${sha}`))! > firstExpiry, "the first blob was rewritten");
    assert.equal(await new BlobStore(store, { prefix: `runs/${runId}/blobs/` }).resolveText(ref), PAGE);
  });
});

Deno.test("run lifecycle: a run written before blobs were per run still reads them, and its next step moves them", async () => {
  await withKv(async (kv, store) => {
    const runs = new RunService(store);
    const agent = reader(2);
    const { runId } = await runs.create("reader", agent.start("read"));
    const first = await runs.step(runId, agent);
    const ref = (first.step as { observationsRef?: string }).observationsRef!;
    const sha = ref.slice("blob:sha256:".length, "blob:sha256:".length + 64);
    // What an older server left: the blob under the shared prefix, no expiry anywhere, no `blobsUntil`.
    const blob = (await store.get(`runs/${runId}/blobs/${sha}`))!.value;
    await store.put(`blobs/${sha}`, blob);
    await store.delete(`runs/${runId}/blobs/${sha}`);
    const { blobsUntil: _, ...legacy } = JSON.parse((await store.get(`runs/${runId}`))!.value);
    await store.put(`runs/${runId}`, JSON.stringify(legacy));

    assert.equal(await runs.blobsFor(runId).resolveText(ref), PAGE, "reads fall back to the shared prefix");
    const second = await runs.step(runId, agent);
    assert.ok(second.record.blobsUntil, "the commit sets blobsUntil");
    assert.equal((await store.get(`runs/${runId}/blobs/${sha}`))?.value, blob, "the blob now lives with the run");
    const expiry = await storedExpiry(kv, `runs/${runId}/blobs/${sha}`);
    assert.ok(expiry !== undefined && expiry >= second.record.blobsUntil!, "and expires no earlier than blobsUntil");
    // The shared copy, which had no expiry, now has one (other old runs copy it at their next commit, as this did).
    const shared = await storedExpiry(kv, `blobs/${sha}`);
    assert.ok(shared !== undefined && shared >= Date.now() + (runs.lifecycle.sharedBlobSeconds - 5) * 1000);
  });
});

Deno.test("run lifecycle: stateless blobs expire with their tokens; an old token's blobs get an expiry", async (t) => {
  await withKv(async (kv, store) => {
    const secret = "lifecycle-secret-0123456789";
    // A token lives an hour; KV runs' blobs only 4 minutes (2 x (60 + 60) s): the stateless blobs must outlive the token.
    const ttl = { stateTtlSeconds: 3600, runTtlSeconds: 60, idleRunTtlSeconds: 60 };
    const app = createApp({ agents: { reader: reader(1) }, store, secret, ...ttl });
    const post = async (path: string, body: unknown) => {
      const response = await app.request(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const json = await response.json();
      assert.equal(response.status, path.endsWith("/runs") ? 201 : 200, JSON.stringify(json));
      return json;
    };
    const horizon = 2 * 3600 * 1000;
    const created = await post("/v1/agents/reader/runs", { task: "read", stateless: true });
    const stepped = await post("/v1/agents/reader/steps", { state: created.state });
    const sha = /blob:sha256:([0-9a-f]{64})/.exec(JSON.stringify(stepped.step))![1];

    await t.step("a stateless step's blob is kept twice the token's life, not a KV run's", async () => {
      const expiry = (await storedExpiry(kv, `blobs/${sha}`))!;
      assert.ok(expiry > Date.now() + horizon - 60_000 && expiry <= Date.now() + horizon, `${expiry}`);
    });

    await t.step("a run's first step from its task keeps its blob as long, and its token says so", async () => {
      // An app of its own, so its model starts at its first reply (a page to read).
      const own = createApp({ agents: { reader: reader(1) }, store, secret, ...ttl });
      const response = await own.request("/v1/agents/reader/runs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ task: "read", stateless: true, firstStep: true }),
      });
      const first = await response.json();
      assert.equal(response.status, 201, JSON.stringify(first));
      const digest = /blob:sha256:([0-9a-f]{64})/.exec(JSON.stringify(first.step))![1];
      const expiry = (await storedExpiry(kv, `blobs/${digest}`))!;
      assert.ok(expiry > Date.now() + horizon - 60_000 && expiry <= Date.now() + horizon, `${expiry}`);
      const codec = new StateTokenCodec(secret, { ttlSeconds: 3600 });
      assert.ok((await codec.read(first.state, "reader")).blobsUntil! >= expiry - 1_000);
    });

    await t.step("a step of a recent token rewrites no blob (its blobsUntil covers the next token)", async () => {
      const before = await storedExpiry(kv, `blobs/${sha}`);
      const versionBefore = (await store.get(`blobs/${sha}`))!.version;
      assert.equal((await post("/v1/agents/reader/steps", { state: stepped.state })).status, "succeeded");
      assert.equal(await storedExpiry(kv, `blobs/${sha}`), before);
      assert.equal((await store.get(`blobs/${sha}`))!.version, versionBefore);
    });

    await t.step(
      "a token sealed without blobsUntil (an older server's) has its blobs rewritten with an expiry",
      async () => {
        const value = (await store.get(`blobs/${sha}`))!.value;
        await store.put(`blobs/${sha}`, value); // as an older server left it: no expiry
        assert.equal(await storedExpiry(kv, `blobs/${sha}`), undefined);
        const codec = new StateTokenCodec(secret, { ttlSeconds: 3600 });
        const old = await codec.seal("reader", await codec.open(stepped.state, "reader"));
        const answered = await post("/v1/agents/reader/steps", { state: old });
        assert.equal(answered.status, "succeeded");
        const expiry = await storedExpiry(kv, `blobs/${sha}`);
        assert.ok(expiry !== undefined && expiry > Date.now() + horizon - 60_000, `${expiry}`);
        assert.ok((await codec.read(answered.state, "reader")).blobsUntil! >= expiry - 1_000);
      },
    );
  });
});
