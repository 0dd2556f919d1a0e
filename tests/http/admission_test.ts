import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, MemoryStore } from "../../lib/server.ts";
import { CountingStore } from "../support/counting_store.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { until } from "../support/until.ts";

const SECRET = "admission-secret-0123456789";

/** The real app on loopback, its store wrapped to count calls, one agent on the scripted model. */
function serve(model: ScriptedModelServer, options: Partial<AppOptions> = {}) {
  const store = new CountingStore(new MemoryStore());
  const agent = new ToolCallingAgent({
    name: "assistant",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  });
  const smolstep = createSmolstep({ agents: { assistant: agent }, store, secret: SECRET, ...options });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, api: apiClient(url), store, smolstep, close: () => server.shutdown() };
}

/** A model reply held until the test releases it. */
function gatedReply(model: ScriptedModelServer) {
  const gate = Promise.withResolvers<void>();
  model.setHandler(async () => {
    await gate.promise;
    return toolCallReply("final_answer", { answer: "done" });
  });
  return gate;
}

Deno.test("admission: beyond maxStepsInFlight a step is 503 overloaded with Retry-After, before any store work", async (t) => {
  const model = await startScriptedModelServer();
  const app = serve(model, { maxStepsInFlight: 1 });
  try {
    const { body: first } = await app.api.post("/v1/agents/assistant/runs", { task: "one" });
    const { body: second } = await app.api.post("/v1/agents/assistant/runs", { task: "two" });
    const { body: sealed } = await app.api.post("/v1/agents/assistant/runs", { task: "three", stateless: true });
    const gate = gatedReply(model);
    const running = app.api.post(`/v1/runs/${first.runId}/steps`);
    await until(() => model.requests.length === 1, "the first step reaches the model");

    await t.step("every step route is refused at once, and the store is not touched", async () => {
      const calls = app.store.calls;
      const refused = [
        await app.api.post(`/v1/runs/${second.runId}/steps`),
        await app.api.post(`/v1/runs/${second.runId}/input`, { approve: true }),
        await app.api.post("/v1/agents/assistant/steps", { state: sealed.state }),
        await app.api.post("/v1/agents/assistant/input", { state: sealed.state, approve: true }),
        // Not even a malformed body is read.
        await app.api.post(`/v1/runs/${second.runId}/steps`, "{not json"),
      ];
      for (const response of refused) {
        assert.deepEqual([response.status, response.body.error.code], [503, "overloaded"]);
        assert.equal(response.headers.get("Retry-After"), "1");
      }
      assert.equal(app.store.calls, calls, "no store call for a refused step");
      assert.equal(model.requests.length, 1);
    });

    await t.step("creating a run and reading one are not steps: still served", async () => {
      const created = await app.api.post("/v1/agents/assistant/runs", { task: "four" });
      assert.equal(created.status, 201);
      assert.equal((await app.api.get(`/v1/runs/${second.runId}`)).status, 200);
    });

    await t.step("the place is given back when the step ends", async () => {
      gate.resolve();
      assert.equal((await running).status, 200);
      const next = await app.api.post(`/v1/runs/${second.runId}/steps`);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.finalAnswer, "done");
    });
  } finally {
    await app.close();
    await model.close();
  }
});

Deno.test("admission: background steps count as in flight but are never refused", async () => {
  const model = await startScriptedModelServer();
  // Messages are handed over by the test; what the runner enqueues (watchdog copies, the next step) is dropped.
  const app = serve(model, { maxStepsInFlight: 1, queue: { enqueue: () => Promise.resolve() } });
  try {
    const { body: http } = await app.api.post("/v1/agents/assistant/runs", { task: "http" });
    const { body: queued } = await app.api.post("/v1/agents/assistant/runs", { task: "queued" });
    const gate = gatedReply(model);
    // A background step arrives while the only place is free: it takes it...
    const background = app.smolstep.handleQueueMessage({ type: "step", runId: queued.runId, seq: 0, attempt: 1 })
      .catch((error) => error);
    await until(() => model.requests.length === 1, "the background step reaches the model");
    const refused = await app.api.post(`/v1/runs/${http.runId}/steps`);
    assert.deepEqual([refused.status, refused.body.error.code], [503, "overloaded"]);
    gate.resolve();
    assert.equal(await background, undefined);
    // ...and one arriving while an HTTP step holds the place still runs.
    const held = gatedReply(model);
    const running = app.api.post(`/v1/runs/${http.runId}/steps`);
    await until(() => model.requests.length === 2, "the HTTP step reaches the model");
    const { body: other } = await app.api.post("/v1/agents/assistant/runs", { task: "other" });
    const delivered = app.smolstep.handleQueueMessage({ type: "step", runId: other.runId, seq: 0, attempt: 1 })
      .catch((error) => error);
    await until(() => model.requests.length === 3, "the background step runs past the cap");
    held.resolve();
    assert.equal((await running).status, 200);
    assert.equal(await delivered, undefined);
    assert.equal((await app.api.get(`/v1/runs/${other.runId}`)).body.finalAnswer, "done");
  } finally {
    await app.close();
    await model.close();
  }
});
