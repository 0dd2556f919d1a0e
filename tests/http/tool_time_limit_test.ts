import assert from "node:assert/strict";
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/** Generous bound proving "does not hang" (the limits under test are 300 ms and 100 ms; the lock lasts 5 min). */
const ANSWERS_WITHIN_MS = 10_000;

Deno.test("hung tool attack over HTTP (real Deno KV): the step answers, the model sees the timeout, the lock is released", async (t) => {
  const model = await startScriptedModelServer();
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kv = await Deno.openKv(path);
  const signals: AbortSignal[] = [];
  const hang = tool({
    name: "hang",
    description: "Never answers.",
    inputs: z.object({}),
    run: (_args, { signal }) => {
      signals.push(signal!);
      return new Promise<string>(() => {});
    },
  });
  const quickHang = tool({
    name: "quick_hang",
    description: "Never answers either, but gives up sooner.",
    inputs: z.object({}),
    timeoutMs: 100,
    run: (_args, { signal }) => {
      signals.push(signal!);
      return new Promise<string>(() => {});
    },
  });
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const store = new DenoKvStore(kv);
  const app = createApp({
    agents: {
      ops: new ToolCallingAgent({ name: "ops", model: openai, tools: [hang], toolTimeoutMs: 300 }),
      patient: new ToolCallingAgent({
        name: "patient",
        model: openai,
        tools: [hang, quickHang],
        toolTimeoutMs: 60_000,
      }),
    },
    store,
    secret: "tool-time-limit-secret-0123456789",
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base);
  const lockOf = async (runId: string) => JSON.parse((await store.get(`runs/${runId}`))!.value).lock;

  try {
    await t.step(
      "KV mode: the step answers within the bound with the timeout as its error; the next step runs at once",
      async () => {
        model.reset();
        signals.length = 0;
        model.enqueue(toolCallReply("hang"), toolCallReply("final_answer", { answer: "gave up on hang" }));
        const { body: run } = await api.post("/v1/agents/ops/runs", { task: "call hang" });
        const started = Date.now();
        const stepped = await api.post(`/v1/runs/${run.runId}/steps`);
        assert.ok(Date.now() - started < ANSWERS_WITHIN_MS, "the step did not wait for the tool");
        assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
        assert.equal(stepped.body.status, "running");
        assert.equal(stepped.body.step.error.type, "AgentToolExecutionError");
        assert.match(stepped.body.step.error.message, /tool 'hang'.*time limit of 300 ms/);
        assert.equal(signals[0].aborted, true, "the tool's signal was aborted at the limit");
        assert.equal(await lockOf(run.runId), null, "the lock is released");
        const next = await api.post(`/v1/runs/${run.runId}/steps`);
        assert.equal(next.status, 200, JSON.stringify(next.body));
        assert.equal(next.body.finalAnswer, "gave up on hang");
        assert.match(JSON.stringify(model.requests[1].body.messages), /time limit of 300 ms[^]*Now let's retry/);
      },
    );

    await t.step("stateless mode: the step answers with the timeout; the new token steps at once", async () => {
      model.reset();
      model.enqueue(toolCallReply("hang"), toolCallReply("final_answer", { answer: "ok" }));
      const created = await api.post("/v1/agents/ops/runs", { task: "call hang", stateless: true });
      const started = Date.now();
      const stepped = await api.post("/v1/agents/ops/steps", { state: created.body.state });
      assert.ok(Date.now() - started < ANSWERS_WITHIN_MS);
      assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
      assert.match(stepped.body.step.error.message, /tool 'hang'.*time limit of 300 ms/);
      const done = await api.post("/v1/agents/ops/steps", { state: stepped.body.state });
      assert.equal(done.body.finalAnswer, "ok");
    });

    await t.step("a tool's own timeoutMs beats the agent's default over HTTP", async () => {
      model.reset();
      model.enqueue(toolCallReply("quick_hang"));
      const { body: run } = await api.post("/v1/agents/patient/runs", { task: "call quick_hang" });
      const started = Date.now();
      const stepped = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.ok(Date.now() - started < ANSWERS_WITHIN_MS, "100 ms, not the agent's 60 s");
      assert.match(stepped.body.step.error.message, /tool 'quick_hang'.*time limit of 100 ms/);
    });

    await t.step(
      "aborting the request aborts the tool's signal; the run stays as it was and steps again at once",
      async () => {
        model.reset();
        signals.length = 0;
        model.enqueue(toolCallReply("hang"), toolCallReply("final_answer", { answer: "second try" }));
        const { body: run } = await api.post("/v1/agents/patient/runs", { task: "call hang" });
        const client = new AbortController();
        const request = fetch(`${base}/v1/runs/${run.runId}/steps`, { method: "POST", signal: client.signal });
        const deadline = Date.now() + ANSWERS_WITHIN_MS;
        while (signals.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(signals.length, 1, "the tool was called");
        client.abort();
        await request.catch(() => {});
        while (!signals[0].aborted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(signals[0].aborted, true, "the request's abort reached the tool");
        while (await lockOf(run.runId) !== null && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.equal(await lockOf(run.runId), null, "the lock is released, long before its 5 minutes");
        const next = await api.post(`/v1/runs/${run.runId}/steps`);
        assert.equal(next.status, 200, JSON.stringify(next.body));
        assert.equal(next.body.finalAnswer, "second try");
        const stored = (await api.get(`/v1/runs/${run.runId}`)).body;
        assert.deepEqual(stored.steps.map((s: { type: string }) => s.type), ["task", "action", "final_answer"]);
      },
    );
  } finally {
    await server.shutdown();
    await model.close();
    kv.close();
    await Deno.remove(path).catch(() => {});
  }
});
