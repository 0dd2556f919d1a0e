import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp, createSmolstep, MemoryStore, type QueueMessage } from "../../lib/server.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { CountingStore } from "../support/counting_store.ts";
import { apiClient } from "../support/http_client.ts";
import { type HungModelServer, startHungModelServer } from "../support/hung_model_server.ts";
import { until } from "../support/until.ts";

/**
 * Deadlines and clients that leave, over real loopback and under the flags the tests run with (deno.json's
 * "unstable" list has `no-legacy-abort`: a request's signal aborts only when its client goes away). The model hangs
 * (a raw TCP endpoint that counts the calls its client abandoned) until told to answer.
 */

const SECRET = "deadline-secret-0123456789";

function serve(model: HungModelServer, options: Partial<AppOptions> = {}) {
  const store = new CountingStore(new MemoryStore());
  const agent = new ToolCallingAgent({
    name: "assistant",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  });
  const app = createApp({ agents: { assistant: agent }, store, secret: SECRET, ...options });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const runBytes = async (runId: string) => (await store.inner.get(`runs/${runId}`))?.value;
  return { url, api: apiClient(url), store, runBytes, close: () => server.shutdown() };
}

/** POSTs JSON and aborts the request once the model has received its call. */
async function abandonedPost(url: string, body: unknown, model: HungModelServer) {
  const calls = model.received;
  const client = new AbortController();
  const request = fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: client.signal,
  }).then(async (response) => ({ status: response.status, text: await response.text() }), (error) => error);
  await until(() => model.received === calls + 1, "the step reaches the model");
  client.abort();
  assert.equal((await request as Error).name, "AbortError", "the client left before any answer");
}

Deno.test("deadlines: a hung model is cut at stepTimeoutMs; a client that leaves abandons the model call", async (t) => {
  const model = startHungModelServer();
  // The lock lasts a minute: a run found unlocked was unlocked by its step, not by the lock's expiry.
  const app = serve(model, { lockTtlMs: 60_000, stepTimeoutMs: 300 });
  const patient = serve(model, { lockTtlMs: 120_000 });
  try {
    await t.step("KV: 504 step_timeout, the model call abandoned, the run unchanged and steppable", async () => {
      const { body: run } = await app.api.post("/v1/agents/assistant/runs", { task: "hang" });
      const before = await app.runBytes(run.runId);
      const abandoned = model.abandoned;
      const timedOut = await app.api.post(`/v1/runs/${run.runId}/steps`);
      assert.deepEqual([timedOut.status, timedOut.body.error.code], [504, "step_timeout"]);
      assert.equal(await app.runBytes(run.runId), before);
      await until(() => model.abandoned === abandoned + 1, "the model call is abandoned");
      model.answerWith({ answer: "done" });
      const again = await app.api.post(`/v1/runs/${run.runId}/steps`);
      model.answerWith(undefined);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.finalAnswer, "done");
    });

    await t.step("stateless: 504 step_timeout, and the token's claim is freed (it steps again)", async () => {
      const { body: sealed } = await app.api.post("/v1/agents/assistant/runs", { task: "hang", stateless: true });
      const timedOut = await app.api.post("/v1/agents/assistant/steps", { state: sealed.state });
      assert.deepEqual([timedOut.status, timedOut.body.error.code], [504, "step_timeout"]);
      model.answerWith({ answer: "done" });
      const again = await app.api.post("/v1/agents/assistant/steps", { state: sealed.state });
      model.answerWith(undefined);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.finalAnswer, "done");
    });

    await t.step("KV, client gone: the model call is abandoned, no lock is left, the run unchanged", async () => {
      const { body: run } = await patient.api.post("/v1/agents/assistant/runs", { task: "leave" });
      const before = await patient.runBytes(run.runId);
      const abandoned = model.abandoned;
      await abandonedPost(`${patient.url}/v1/runs/${run.runId}/steps`, {}, model);
      await until(() => model.abandoned === abandoned + 1, "the model call is abandoned");
      await until(async () => await patient.runBytes(run.runId) === before, "the lock is given back");
      model.answerWith({ answer: "done" });
      const again = await patient.api.post(`/v1/runs/${run.runId}/steps`);
      model.answerWith(undefined);
      assert.equal(again.status, 200, JSON.stringify(again.body));
    });

    await t.step("stateless, client gone: the model call is abandoned, the same token steps again", async () => {
      const { body: sealed } = await patient.api.post("/v1/agents/assistant/runs", { task: "leave", stateless: true });
      const abandoned = model.abandoned;
      await abandonedPost(`${patient.url}/v1/agents/assistant/steps`, { state: sealed.state }, model);
      await until(() => model.abandoned === abandoned + 1, "the model call is abandoned");
      model.answerWith({ answer: "done" });
      try {
        // The claim is freed just after the abandoned call returns: until then the token is in use (409).
        let again = await patient.api.post("/v1/agents/assistant/steps", { state: sealed.state });
        for (let i = 0; i < 100 && again.status === 409; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          again = await patient.api.post("/v1/agents/assistant/steps", { state: sealed.state });
        }
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.finalAnswer, "done");
      } finally {
        model.answerWith(undefined);
      }
    });
  } finally {
    await app.close();
    await patient.close();
    await model.close();
  }
});

Deno.test("deadlines: a background step past its deadline is retried later, the run unchanged", async () => {
  const model = startHungModelServer();
  const enqueued: Array<{ message: QueueMessage; delayMs?: number }> = [];
  const store = new MemoryStore();
  const agent = new ToolCallingAgent({
    name: "assistant",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  });
  const smolstep = createSmolstep({
    agents: { assistant: agent },
    store,
    lockTtlMs: 60_000,
    stepTimeoutMs: 200,
    retryDelayMs: 5,
    queue: { enqueue: (message, options) => Promise.resolve(void enqueued.push({ message, ...options })) },
  });
  try {
    const runs = new RunService(store);
    const { runId } = await runs.create("assistant", agent.start("hang"), { background: true });
    const before = (await store.get(`runs/${runId}`))?.value;
    await smolstep.handleQueueMessage({ type: "step", runId, seq: 0, attempt: 1 });
    assert.equal((await store.get(`runs/${runId}`))?.value, before);
    // The watchdog copy (after the lock) and the retry of the timed-out step.
    assert.deepEqual(
      enqueued.map(({ message, delayMs }) => [message.type, (message as { attempt: number }).attempt, delayMs]),
      [
        ["step", 1, 61_000],
        ["step", 2, 5],
      ],
    );
  } finally {
    await model.close();
  }
});

Deno.test("deadlines: one timer per step, however many layers apply the deadline; it still fires", async (t) => {
  const model = startHungModelServer();
  // A step time no other timer in this test uses, so the spy counts only deadline timers.
  const STEP_MS = 347;
  const app = serve(model, { lockTtlMs: 60_000, stepTimeoutMs: STEP_MS });
  const original = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((handler: () => void, delay?: number) => {
    if (delay === STEP_MS) timers++;
    return original(handler, delay);
  }) as typeof setTimeout;
  try {
    await t.step("a KV step (route, then RunService): 504, the run unchanged, one timer", async () => {
      const { body: run } = await app.api.post("/v1/agents/assistant/runs", { task: "hang" });
      const before = await app.runBytes(run.runId);
      timers = 0;
      const timedOut = await app.api.post(`/v1/runs/${run.runId}/steps`);
      assert.deepEqual([timedOut.status, timedOut.body.error.code], [504, "step_timeout"]);
      assert.equal(timers, 1);
      assert.equal(await app.runBytes(run.runId), before);
    });

    await t.step("a stateless step: 504, one timer", async () => {
      const { body: sealed } = await app.api.post("/v1/agents/assistant/runs", { task: "hang", stateless: true });
      timers = 0;
      const timedOut = await app.api.post("/v1/agents/assistant/steps", { state: sealed.state });
      assert.deepEqual([timedOut.status, timedOut.body.error.code], [504, "step_timeout"]);
      assert.equal(timers, 1);
    });

    await t.step("a library call to RunService.step: its own timer, one", async () => {
      const store = new MemoryStore();
      const agent = new ToolCallingAgent({
        name: "assistant",
        model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
      });
      const runs = new RunService(store, { lockTtlMs: 60_000, stepTimeoutMs: STEP_MS });
      const { runId } = await runs.create("assistant", agent.start("hang"));
      const before = (await store.get(`runs/${runId}`))?.value;
      timers = 0;
      await assert.rejects(runs.step(runId, agent), (error: Error) => error.name === "StepTimeoutError");
      assert.equal(timers, 1);
      assert.equal((await store.get(`runs/${runId}`))?.value, before);
    });
  } finally {
    globalThis.setTimeout = original;
    await app.close();
    await model.close();
  }
});
