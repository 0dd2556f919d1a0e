import assert from "node:assert/strict";
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PAGE = `A long page. ${"All work and no play makes Jack a dull boy. ".repeat(200)}`;

Deno.test("run lifecycle over HTTP: DELETE, TTL of finished runs, abandoned runs expire", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const readPage = tool({
    name: "read_page",
    description: "Returns a long page.",
    inputs: z.object({}),
    run: () => PAGE,
  });
  const agent = new ToolCallingAgent({
    name: "reader",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [readPage],
  });
  const app = createApp({
    agents: { reader: agent },
    store: new DenoKvStore(kv),
    apiKeys: ["sk-test"],
    runTtlSeconds: 1,
    idleRunTtlSeconds: 2,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base, { apiKey: "sk-test" });
  const del = (runId: string, apiKey = "sk-test") =>
    fetch(`${base}/v1/runs/${runId}`, { method: "DELETE", headers: { Authorization: `Bearer ${apiKey}` } });
  /** Every store key of the run (record, cancel flag, blobs), as DenoKvStore holds them. */
  const keysOf = async (runId: string) => {
    const keys: string[] = [];
    for await (const entry of kv.list({ prefix: ["smolstep", "v"] })) {
      const key = String(entry.key[2]);
      if (key.startsWith(`runs/${runId}`)) keys.push(key);
    }
    return keys;
  };

  try {
    await t.step("DELETE needs the API key, and answers 404 run_not_found for an unknown run", async () => {
      const runId = crypto.randomUUID();
      const anonymous = await fetch(`${base}/v1/runs/${runId}`, { method: "DELETE" });
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401);
      const wrong = await del(runId, "sk-wrong");
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401);
      const missing = await del(runId);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.code, "run_not_found");
    });

    await t.step("DELETE is refused while a step runs, then removes the record, cancel flag and blobs", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("read_page", {}), delayMs: 400 });
      const { body: run } = await api.post("/v1/agents/reader/runs", { task: "Read the page." });
      const stepping = api.post(`/v1/runs/${run.runId}/steps`);
      while (model.requests.length === 0) await sleep(10); // the step holds the lock once the model is called
      const busy = await del(run.runId);
      assert.equal(busy.status, 409);
      assert.equal((await busy.json()).error.code, "step_in_progress");
      // A cancel that meets a step in flight is kept under its own key until the step's commit applies it.
      assert.equal((await api.post(`/v1/runs/${run.runId}/cancel`)).status, 202);
      const stepped = await stepping;
      assert.equal(stepped.status, 200);
      assert.equal(stepped.body.status, "cancelled");
      assert.match(stepped.body.step.observationsRef, /^blob:sha256:/);
      const keys = await keysOf(run.runId);
      assert.deepEqual(
        keys.map((key) => key.replace(/[0-9a-f]{64}$/, "<sha>")).sort(),
        [`runs/${run.runId}`, `runs/${run.runId}/blobs/<sha>`, `runs/${run.runId}/cancel`],
      );

      const deleted = await del(run.runId);
      assert.equal(deleted.status, 204);
      assert.equal(await deleted.text(), "");
      assert.deepEqual(await keysOf(run.runId), [], "nothing of the run is left in the store");
      assert.equal((await api.get(`/v1/runs/${run.runId}`)).status, 404);
      const again = await del(run.runId);
      assert.equal(again.status, 404);
      await again.body?.cancel();
    });

    await t.step("a finished run reads as 404 once runTtlSeconds have passed", async () => {
      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: "done" }));
      const { body: run } = await api.post("/v1/agents/reader/runs", { task: "Answer." });
      const done = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(done.body.status, "succeeded");
      const read = await api.get(`/v1/runs/${run.runId}`);
      assert.equal(read.status, 200);
      // Shown to clients: a finished run goes runTtlSeconds after it ended.
      assert.equal(Date.parse(read.body.expiresAt), Date.parse(read.body.updatedAt) + 1_000);
      await sleep(Math.max(0, Date.parse(read.body.updatedAt) + 1_050 - Date.now()));
      const gone = await api.get(`/v1/runs/${run.runId}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, "run_not_found");
    });

    await t.step("a run nobody steps for idleRunTtlSeconds reads as expired and refuses steps (409)", async () => {
      model.reset();
      const { body: run } = await api.post("/v1/agents/reader/runs", { task: "Never stepped." });
      // An active run: idleRunTtlSeconds until it reads as expired, then runTtlSeconds more.
      assert.equal(Date.parse(run.expiresAt), Date.parse(run.updatedAt) + 3_000);
      await sleep(Math.max(0, Date.parse(run.updatedAt) + 2_050 - Date.now()));
      const read = await api.get(`/v1/runs/${run.runId}`);
      assert.equal(read.body.status, "expired");
      assert.equal(Date.parse(read.body.expiresAt), Date.parse(run.updatedAt) + 3_000, "when its record goes");
      const step = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(step.status, 409);
      assert.equal(step.body.error.code, "run_finished");
      assert.match(step.body.error.message, /expired/);
      assert.equal(model.requests.length, 0, "no model call for an expired run");
      const deleted = await del(run.runId);
      await deleted.body?.cancel();
      assert.equal(deleted.status, 204, "an expired run can be deleted too");
    });
  } finally {
    await server.shutdown();
    await model.close();
    kv.close();
  }
});
