/**
 * Store round trips per request, counted at the backend over the real app (loopback HTTP, scripted model):
 * a real `Deno.Kv` (`:memory:`) behind a counting proxy, `SmolstepStateObject`s on node:sqlite behind a counting
 * namespace (one request = one round trip to the object), and an in-memory Workers KV binding counting its calls.
 * The budgets are those documented on `RunService`: on Deno KV and Durable Objects a step is at most 2 reads and
 * 2 writes, a background step (a queue message, delivered by hand) too; on Workers KV each compare-and-set costs a
 * read of its own (it is read-then-write).
 */

import assert from "node:assert/strict";
import { OpenAIServerModel, type StateStore, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, type QueueMessage } from "../../lib/server.ts";
import { CloudflareKvStore } from "../../lib/adapters/cloudflare/cloudflare_kv_store.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { DurableObjectStore } from "../../lib/adapters/cloudflare/durable_object_store.ts";
import { deleteFileTool, echoTool } from "../support/approval_tools.ts";
import { apiClient } from "../support/http_client.ts";
import {
  countingDenoKv,
  countingDurableObjects,
  countingWorkersKv,
  type RoundTrips,
} from "../support/round_trip_counter.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

type Phase =
  | "create"
  | "step"
  | "replay"
  | "read"
  | "pause"
  | "answer"
  | "failedStep"
  | "unknownAgent"
  | "cancelIdle"
  | "stepAfterEnd"
  | "pendingCancel"
  | "stepBeforeModel"
  | "cancelBusy"
  | "stepAfterModel"
  | "statelessStep"
  | "statelessFirstStep"
  | "kvFirstStep"
  | "statelessReplay"
  | "backgroundStep"
  | "backgroundDuplicate"
  | "delete";

/** [reads, writes] per request (or part of one). */
type Budget = Record<Phase, [number, number]>;

const ATOMIC: Budget = {
  create: [0, 1],
  step: [2, 2],
  replay: [1, 0],
  read: [1, 0],
  pause: [2, 2],
  answer: [2, 2],
  failedStep: [1, 2],
  unknownAgent: [1, 0],
  cancelIdle: [1, 1],
  stepAfterEnd: [1, 0],
  pendingCancel: [1, 1],
  stepBeforeModel: [1, 1],
  cancelBusy: [1, 1],
  stepAfterModel: [1, 1],
  statelessStep: [0, 2],
  // Runs created with their first step (`firstStep: true`): a stateless one has no token to claim or spend; a KV one
  // is written once, already stepped (a create's write).
  statelessFirstStep: [0, 0],
  kvFirstStep: [0, 1],
  statelessReplay: [1, 1],
  backgroundStep: [2, 2],
  backgroundDuplicate: [1, 0],
  // The read, the lock, then the record and the cancel flag (and one delete per blob; this run has none).
  delete: [1, 3],
};

/** Deno KV: a refused create reads the head once (it may have expired, which counts as missing). */
const DENO_KV: Budget = { ...ATOMIC, statelessReplay: [2, 1] };

/** Workers KV: a compare-and-set is a read and a write. */
const WORKERS_KV: Budget = {
  ...ATOMIC,
  create: [1, 1],
  kvFirstStep: [1, 1],
  step: [4, 2],
  pause: [4, 2],
  answer: [4, 2],
  failedStep: [3, 2],
  cancelIdle: [2, 1],
  pendingCancel: [2, 1],
  stepBeforeModel: [2, 1],
  stepAfterModel: [2, 1],
  statelessStep: [1, 2],
  statelessReplay: [2, 0],
  backgroundStep: [4, 2],
  backgroundDuplicate: [1, 0],
  delete: [2, 3],
};

async function roundTrips(
  t: Deno.TestContext,
  model: ScriptedModelServer,
  store: StateStore,
  trips: RoundTrips,
  budget: Budget,
) {
  const agent = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [echoTool, deleteFileTool()],
  });
  // A queue that only records: a background step is delivered by hand, so its round trips are its own.
  const queued: Array<{ message: QueueMessage; delayMs?: number }> = [];
  const queue = {
    enqueue: (message: QueueMessage, options: { delayMs?: number } = {}) => {
      queued.push({ message, delayMs: options.delayMs });
      return Promise.resolve();
    },
  };
  const smolstep = createSmolstep({ agents: { ops: agent }, store, queue, secret: "round-trips-secret-0123456789" });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
  const expect = (phase: Phase) => {
    const { reads, writes } = trips.take();
    assert.deepEqual([reads, writes], budget[phase], `${phase}: [reads, writes]`);
  };
  const newRun = async () => {
    const created = await api.post("/v1/agents/ops/runs", { task: "t" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    expect("create");
    return created.body.runId as string;
  };

  try {
    trips.take();
    await t.step("a step, its replay, a read of the run, its deletion", async () => {
      model.reset();
      model.enqueue(toolCallReply("echo", { text: "hi" }));
      const runId = await newRun();
      const stepped = await api.post(`/v1/runs/${runId}/steps`, undefined, { "Idempotency-Key": "s1" });
      assert.equal(stepped.body.step.observations, "hi");
      expect("step");
      const replayed = await api.post(`/v1/runs/${runId}/steps`, undefined, { "Idempotency-Key": "s1" });
      assert.equal(replayed.headers.get("Idempotent-Replayed"), "true");
      assert.deepEqual(replayed.body.step, stepped.body.step);
      expect("replay");
      assert.equal((await api.get(`/v1/runs/${runId}`)).body.status, "running");
      expect("read");
      assert.equal(model.requests.length, 1);
      assert.equal((await api.delete(`/v1/runs/${runId}`)).status, 204);
      expect("delete");
      assert.equal(await store.get(`runs/${runId}`), null);
      trips.take();
    });

    await t.step("a step that pauses for approval, and the answer", async () => {
      model.reset();
      model.enqueue(toolCallReply("delete_file", { path: "/x" }), toolCallReply("final_answer", { answer: "done" }));
      const runId = await newRun();
      assert.equal((await api.post(`/v1/runs/${runId}/steps`)).body.status, "awaiting_input");
      expect("pause");
      const answered = await api.post(`/v1/runs/${runId}/input`, { approve: true });
      assert.equal(answered.body.step.observations, "deleted /x");
      expect("answer");
    });

    await t.step("a failed step leaves the record byte for byte; an unknown agent writes nothing", async () => {
      model.reset();
      model.enqueue({ status: 500, error: "boom" });
      const runId = await newRun();
      const before = await store.get(`runs/${runId}`);
      trips.take();
      const failed = await api.post(`/v1/runs/${runId}/steps`);
      assert.ok(failed.status >= 500, JSON.stringify(failed.body));
      expect("failedStep");
      const after = await store.get(`runs/${runId}`);
      assert.ok(after?.value === before?.value, "the record changed");

      const record = JSON.parse(after!.value);
      const orphan = crypto.randomUUID();
      await store.put(`runs/${orphan}`, JSON.stringify({ ...record, runId: orphan, agent: "retired" }));
      const stored = await store.get(`runs/${orphan}`);
      trips.take();
      const refused = await api.post(`/v1/runs/${orphan}/steps`);
      assert.deepEqual([refused.status, refused.body.error.code], [404, "agent_not_found"]);
      expect("unknownAgent");
      assert.equal((await store.get(`runs/${orphan}`))?.version, stored?.version);
      trips.take();
    });

    await t.step("cancel when idle; a pending cancellation applied by the next step", async () => {
      model.reset();
      const idle = await newRun();
      const cancelled = await api.post(`/v1/runs/${idle}/cancel`);
      assert.deepEqual([cancelled.status, cancelled.body.status], [200, "cancelled"]);
      expect("cancelIdle");
      const after = await api.post(`/v1/runs/${idle}/steps`);
      assert.deepEqual([after.status, after.body.error.code], [409, "run_finished"]);
      expect("stepAfterEnd");

      // A flag left by a cancel that came too late for the step in flight.
      const pending = await newRun();
      await store.put(`runs/${pending}/cancel`, "1");
      trips.take();
      const stepped = await api.post(`/v1/runs/${pending}/steps`);
      assert.deepEqual([stepped.status, stepped.body.status, stepped.body.step], [200, "cancelled", null]);
      expect("pendingCancel");
      assert.equal(model.requests.length, 0);
    });

    await t.step("cancel during a step: that step's commit ends the run", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("echo", { text: "late" }), delayMs: 300 });
      const runId = await newRun();
      const stepping = api.post(`/v1/runs/${runId}/steps`);
      while (model.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect("stepBeforeModel");
      const requested = await api.post(`/v1/runs/${runId}/cancel`);
      assert.deepEqual([requested.status, requested.body.status], [202, "running"]);
      expect("cancelBusy");
      const stepped = await stepping;
      assert.deepEqual([stepped.body.step.observations, stepped.body.status], ["late", "cancelled"]);
      expect("stepAfterModel");
    });

    await t.step(
      "stateless: a step claims and spends its token with two writes; a replay is refused; a first step none",
      async () => {
        model.reset();
        model.enqueue(toolCallReply("echo", { text: "hi" }));
        const created = await api.post("/v1/agents/ops/runs", { task: "t", stateless: true });
        trips.take();
        const stepped = await api.post("/v1/agents/ops/steps", { state: created.body.state });
        assert.equal(stepped.body.step.observations, "hi");
        expect("statelessStep");
        const replayed = await api.post("/v1/agents/ops/steps", { state: created.body.state });
        assert.deepEqual([replayed.status, replayed.body.error.code], [409, "token_replayed"]);
        expect("statelessReplay");
        model.enqueue(toolCallReply("echo", { text: "first" }));
        const first = await api.post("/v1/agents/ops/runs", { task: "t", stateless: true, firstStep: true });
        assert.deepEqual([first.status, first.body.step.observations], [201, "first"]);
        expect("statelessFirstStep");
      },
    );

    await t.step("a KV run created with its first step: one write, no read", async () => {
      model.reset();
      model.enqueue(toolCallReply("echo", { text: "kv first" }));
      const first = await api.post("/v1/agents/ops/runs", { task: "t", firstStep: true });
      assert.deepEqual([first.status, first.body.step.observations], [201, "kv first"]);
      expect("kvFirstStep");
    });

    await t.step("background: a step is the KV step's round trips; a duplicate delivery is one read", async () => {
      model.reset();
      model.enqueue(toolCallReply("echo", { text: "bg" }));
      const created = await api.post("/v1/agents/ops/runs", { task: "t", background: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      expect("create");
      const first = queued.splice(0);
      assert.deepEqual(first.map((q) => q.message.type), ["step"]);
      await smolstep.handleQueueMessage(first[0].message);
      expect("backgroundStep");
      // The watchdog (after the lock expires) and the next step were queued; the run moved on.
      assert.deepEqual(queued.map((q) => [q.message.type, q.delayMs !== undefined]), [["step", true], [
        "step",
        false,
      ]]);
      const record = JSON.parse((await store.get(`runs/${created.body.runId}`))!.value);
      assert.equal(record.seq, 1);
      assert.equal(record.lock, null);
      trips.take();
      // The watchdog's copy arrives: the step was committed; it only queues the next step again (in case the first
      // enqueue was lost), which that step's `seq` makes harmless.
      await smolstep.handleQueueMessage(first[0].message);
      expect("backgroundDuplicate");
      // (A message of its own: another message for seq 1 would find a step key not its own and stop.)
      const [again] = queued.slice(2).map((q) => q.message as { id?: string });
      assert.notEqual(again.id, (first[0].message as { id?: string }).id);
      assert.deepEqual(queued.slice(2).map((q) => q.message), [{ ...first[0].message, seq: 1, id: again.id }]);
      assert.equal(model.requests.length, 1);
      queued.splice(0);
    });
  } finally {
    await server.shutdown();
  }
}

Deno.test("store round trips per request over the real app", async (t) => {
  await using model = await startScriptedModelServer();

  await t.step("Deno KV: a step is 2 reads and 2 commits", async (t) => {
    const real = await Deno.openKv(":memory:");
    try {
      const { kv, trips } = countingDenoKv(real);
      await roundTrips(t, model, new DenoKvStore(kv), trips, DENO_KV);
    } finally {
      real.close();
    }
  });

  await t.step("Durable Object: a step is 2 reads and 2 writes, each one request to the run's object", async (t) => {
    const { namespace, trips, close } = countingDurableObjects();
    try {
      await roundTrips(t, model, new DurableObjectStore(namespace), trips, ATOMIC);
    } finally {
      close();
    }
  });

  await t.step("Workers KV: a step is 4 reads and 2 writes (compare-and-set reads first)", async (t) => {
    const { binding, trips } = countingWorkersKv();
    await roundTrips(t, model, new CloudflareKvStore(binding), trips, WORKERS_KV);
  });
});
