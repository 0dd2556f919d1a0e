/**
 * Issue 9 section 2, "a large state wedges a run": each attack performed over the real app (Hono over loopback),
 * real Deno KV (`:memory:`), the real QuickJS sandbox and the scripted OpenAI-compatible model server.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { BlobStore, CodeAgent, type MultiStepAgent, OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, InProcessQueue, MemoryStore } from "../../lib/server.ts";
import { RunError } from "../../lib/runs/run_record.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { DENO_KV_MAX_VALUE_BYTES, DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import type { StateStore } from "../../lib/stores/state_store.ts";
import { RECORD_RESERVE_BYTES } from "../../lib/runs/run_service.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const executor = createDenoQuickJSExecutor({ timeLimitMs: 10_000 });

/** The app over `store` with the given agents (all on the scripted model), served on loopback. */
async function serve(
  makeAgents: (model: OpenAIServerModel) => Record<string, MultiStepAgent>,
  options: { store?: StateStore; background?: boolean; lockTtlMs?: number } = {},
) {
  const modelServer = await startScriptedModelServer();
  const model = new OpenAIServerModel({ modelId: "m", apiBase: modelServer.url, apiKey: "k", maxRetries: 0 });
  const kv = await Deno.openKv(":memory:");
  const store = options.store ?? new DenoKvStore(kv);
  const queue = options.background ? new InProcessQueue() : undefined;
  const appOptions: AppOptions = {
    agents: makeAgents(model),
    store,
    queue,
    retryDelayMs: 5,
    lockTtlMs: options.lockTtlMs,
  };
  const smolstep = createSmolstep(appOptions);
  queue?.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
  /** Completion requests the model server received. */
  const modelCalls = () => modelServer.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
  /** The stored run record (raw JSON as the store holds it) and its size in UTF-8 bytes. */
  const stored = async (runId: string) => {
    const entry = await store.get(`runs/${runId}`);
    assert.ok(entry, `run ${runId} is not stored`);
    return { record: JSON.parse(entry.value), bytes: new TextEncoder().encode(entry.value).length, entry };
  };
  return {
    api,
    kv,
    store,
    modelServer,
    modelCalls,
    stored,
    async close() {
      if (queue) {
        await queue.idle();
        queue.close();
      }
      await server.shutdown();
      await modelServer.close();
      kv.close();
    },
  };
}

const coder = (model: OpenAIServerModel) => ({ coder: new CodeAgent({ name: "coder", model, executor }) });

Deno.test("attack: an 800 KB persisted CodeAgent variable is dropped with a note; the run keeps stepping on Deno KV", async () => {
  const app = await serve(coder);
  try {
    app.modelServer.enqueue(
      '<code>\nconst big = "x".repeat(800_000);\nconst small = big.slice(0, 5);\nconsole.log(big.length);\n</code>',
      "<code>\nfinal_answer(`${typeof big} ${small}`);\n</code>",
    );
    const created = await app.api.post("/v1/agents/coder/runs", { task: "Make a big variable." });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.runId;

    const first = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 500));
    assert.equal(first.body.status, "running");
    assert.match(first.body.step.observations, /800000/);
    assert.match(
      first.body.step.observations,
      /Note: these variables are too large to keep for the next steps \(at most 100000 bytes of JSON each, 250000 in all\) and were dropped: big \(800005 bytes\)/,
    );
    const { record, bytes } = await app.stored(runId);
    assert.deepEqual(Object.keys(record.state.variables), ["small"]);
    assert.ok(bytes < 20_000, `the record is ${bytes} bytes`);
    assert.equal(record.lock, null, "the lock was released");

    // The model saw the note (it is in the observation) and the next step runs without the variable.
    const second = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(second.status, 200, JSON.stringify(second.body).slice(0, 500));
    assert.equal(second.body.status, "succeeded");
    assert.equal(second.body.finalAnswer, "undefined xxxxx");
    assert.match(JSON.stringify(app.modelServer.lastRequest!.body.messages), /were dropped: big \(800005 bytes\)/);
    assert.equal(app.modelCalls(), 2, "one model call per step, none repeated");
  } finally {
    await app.close();
  }
});

Deno.test("attack: a 900 KB model reply (and a 300 KB final answer) fits the record: cut with a marker, blobs by reference", async () => {
  const app = await serve(coder);
  try {
    const thought = "t".repeat(900_000);
    const longCode = `const note = "${"n".repeat(300_000)}";\nconsole.log(note.length);`;
    app.modelServer.enqueue(
      `Thought: ${thought}\n<code>\nconsole.log("thinking done");\n</code>`,
      `Thought: a 300 KB program.\n<code>\n${longCode}\n</code>`,
      '<code>\nfinal_answer("a".repeat(300_000));\n</code>',
    );
    const created = await app.api.post("/v1/agents/coder/runs", { task: "Think a lot." });
    assert.equal(created.status, 201);
    const runId = created.body.runId;

    const first = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 500));
    assert.equal(first.body.status, "running");
    // Over the blob store's 512 KiB: kept as head and tail with a visible marker.
    assert.match(first.body.step.modelOutput, /\.\.\.\[truncated: \d+ of 9000\d\d characters removed\]\.\.\./);
    assert.ok(first.body.step.modelOutput.length < 4_100, "cut to the agent's largeObservationChars");
    assert.match(first.body.step.observations, /thinking done/);

    const second = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(second.status, 200, JSON.stringify(second.body).slice(0, 500));
    assert.match(second.body.step.observations, /300000/);
    // Under 512 KiB: a preview plus the blob ref, for the reply, the code and the tool call's arguments.
    const step = second.body.step;
    for (const field of ["modelOutput", "code", "toolCalls.0.arguments"]) {
      assert.match(step.storedFields[field], /^blob:sha256:[0-9a-f]{64};type=text\/plain$/, field);
    }
    assert.match(step.modelOutput, /\.\.\.\[the full modelOutput \(\d+ characters\) is stored as blob:sha256:/);
    const blobs = new BlobStore(app.store, { prefix: `runs/${runId}/blobs/` }); // the run's own blobs
    assert.equal(await blobs.resolveText(step.storedFields.code), longCode);

    const third = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(third.status, 200, JSON.stringify(third.body).slice(0, 500));
    assert.equal(third.body.status, "succeeded");
    // The model read its earlier reply in full again (the stored one, not the preview).
    const sent = JSON.stringify(app.modelServer.lastRequest!.body.messages);
    assert.ok(sent.includes(JSON.stringify(longCode).slice(1, -1)), "the full program was sent back to the model");

    // The final answer is kept once: cut with a marker naming the blob that holds it in full.
    const answer = third.body.finalAnswer as string;
    assert.match(
      answer,
      /^a{50000}\n\.\.\.\[truncated: 200000 of 300000 characters removed; the full text is stored as (blob:sha256:[0-9a-f]{64};type=text\/plain)\]\.\.\.\na{50000}$/,
    );
    const ref = /stored as (blob:[^\]]+)\]/.exec(answer)![1];
    assert.equal(await blobs.resolveText(ref), "a".repeat(300_000));
    const { record, bytes } = await app.stored(runId);
    assert.equal(record.state.steps.at(-1).output, ref, "the final_answer record holds the ref");
    assert.equal(record.state.steps.at(-2).actionOutput, ref, "so does the action step");
    assert.ok(bytes < 200_000, `the record is ${bytes} bytes`);
    assert.equal(app.modelCalls(), 3);
  } finally {
    await app.close();
  }
});

Deno.test("attack: an 800 KB task answers 413 task_too_large before anything is written; the task is stored once", async () => {
  const app = await serve(coder);
  try {
    const keys = async () => (await Array.fromAsync(app.kv.list({ prefix: [] }))).length;
    const before = await keys();
    const refused = await app.api.post("/v1/agents/coder/runs", { task: "x".repeat(800_000) });
    assert.equal(refused.status, 413, JSON.stringify(refused.body).slice(0, 300));
    assert.equal(refused.body.error.code, "task_too_large");
    assert.match(refused.body.error.message, /at most 357952/);
    assert.equal(await keys(), before, "nothing was written");
    assert.equal(app.modelCalls(), 0);

    // The largest task accepted is stored once: the record is barely larger than the task.
    const task = "y".repeat(355_000);
    const created = await app.api.post("/v1/agents/coder/runs", { task });
    assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
    const { record, bytes } = await app.stored(created.body.runId);
    assert.ok(bytes < task.length + 2_000, `a ${task.length}-character task makes a ${bytes}-byte record`);
    assert.equal(record.state.task, undefined, "state.task is not stored a second time");
    const run = await app.api.get(`/v1/runs/${created.body.runId}`);
    assert.equal(run.body.task, task, "and reads back whole");
    assert.equal(run.body.steps[0].task, task);
  } finally {
    await app.close();
  }
});

Deno.test("RunService.checkSize refuses an oversized run without writing, as create does", async () => {
  const store = new MemoryStore();
  const runs = new RunService(store);
  const agent = coder(new OpenAIServerModel({ modelId: "m", apiBase: "http://127.0.0.1:9/v1", apiKey: "k" })).coder;
  assert.throws(() => runs.checkSize("coder", agent.start("x".repeat(400_000))), /task_too_large|at most 357952/);
  assert.equal(store.size, 0);
  runs.checkSize("coder", agent.start("x".repeat(300_000)));
  await assert.rejects(runs.create("coder", agent.start("x".repeat(400_000))), (error) => {
    assert.ok(error instanceof RunError && error.code === "task_too_large");
    return true;
  });
  assert.equal(store.size, 0);
});

/** A tool that needs approval; the model calls it with `size` bytes of text. */
const publisher = (model: OpenAIServerModel) => ({
  publisher: new ToolCallingAgent({
    name: "publisher",
    model,
    tools: [
      tool({
        name: "publish",
        description: "Publishes a text.",
        inputs: z.object({ text: z.string() }),
        needsApproval: true,
        run: ({ text }) => `published ${text.length} characters`,
      }),
    ],
  }),
});

Deno.test("attack: a commit that cannot be written answers 507 state_too_large; lock released, run unchanged, next step works", async () => {
  const app = await serve(publisher);
  try {
    const created = await app.api.post("/v1/agents/publisher/runs", { task: "Publish something." });
    const runId = created.body.runId;
    const before = await app.stored(runId);

    // The paused step keeps the call's arguments in full (they run once approved): 800 KB cannot be committed.
    app.modelServer.enqueue(toolCallReply("publish", { text: "p".repeat(800_000) }));
    const tooLarge = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(tooLarge.status, 507, JSON.stringify(tooLarge.body).slice(0, 300));
    assert.equal(tooLarge.body.error.code, "state_too_large");
    assert.match(tooLarge.body.error.message, /keeps at most 715904.*run is unchanged at its previous step/s);
    const after = await app.stored(runId);
    assert.deepEqual(after.record, before.record, "the run is exactly as before the step (and unlocked)");
    assert.equal(app.modelCalls(), 1);

    // Nothing loops, nothing is locked: the next step runs at once and works.
    app.modelServer.enqueue(
      toolCallReply("publish", { text: "short" }),
      toolCallReply("final_answer", { answer: "done" }),
    );
    const paused = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body).slice(0, 300));
    assert.equal(paused.body.status, "awaiting_input");
    const approved = await app.api.post(`/v1/runs/${runId}/input`, { approve: true });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.step.observations, "published 5 characters");
    const last = await app.api.post(`/v1/runs/${runId}/steps`);
    assert.equal(last.body.status, "succeeded");
    assert.equal(app.modelCalls(), 3);
  } finally {
    await app.close();
  }
});

Deno.test("attack: a background step that cannot be committed does not loop: the run ends failed after one model call", async () => {
  const lockTtlMs = 300;
  const app = await serve(publisher, { background: true, lockTtlMs });
  try {
    app.modelServer.setHandler(() => toolCallReply("publish", { text: "p".repeat(800_000) }));
    const created = await app.api.post("/v1/agents/publisher/runs", { task: "Publish.", background: true });
    assert.equal(created.status, 201);
    const runId = created.body.runId;
    let run;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      run = await app.api.get(`/v1/runs/${runId}`);
      if (run.body.status !== "running") break;
      await new Promise((done) => setTimeout(done, 50));
    }
    assert.equal(run!.body.status, "failed");
    assert.equal(run!.body.error.type, "StateTooLargeError");
    assert.match(run!.body.error.message, /run record .* bytes of JSON; this store keeps at most 715904/);
    assert.deepEqual(run!.body.steps.map((s: { type: string }) => s.type), ["task"], "no step was committed");
    // The watchdog copy of the message arrives after the lock TTL: it must find the run ended, not step it again.
    await new Promise((done) => setTimeout(done, lockTtlMs + 1_500));
    assert.equal(app.modelCalls(), 1, "the model was called once, not once per retry");
    assert.equal((await app.stored(runId)).record.lock, null);
  } finally {
    await app.close();
  }
});

Deno.test("attack: MemoryStore's caps hold over the app: an oversized task is 413, a full store is 507 store_full", async () => {
  const store = new MemoryStore({ maxValueBytes: 40_000, maxTotalBytes: 200_000 });
  const app = await serve(coder, { store });
  try {
    const tooLarge = await app.api.post("/v1/agents/coder/runs", { task: "x".repeat(30_000) });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, "task_too_large");
    let status = 201;
    let created = 0;
    while (status === 201 && created < 100) {
      const response = await app.api.post("/v1/agents/coder/runs", { task: "z".repeat(15_000) });
      status = response.status;
      if (status === 201) created++;
      else {
        assert.equal(status, 507);
        assert.equal(response.body.error.code, "store_full");
      }
    }
    assert.equal(created, 12, "200,000 bytes hold 12 runs of ~15.6 KB (task, system fields, key)");
    assert.ok(store.totalBytes <= 200_000);
    assert.equal(DENO_KV_MAX_VALUE_BYTES - RECORD_RESERVE_BYTES, 715_904);
  } finally {
    await app.close();
  }
});
