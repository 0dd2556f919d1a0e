import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { createAgents } from "../../functions/agents.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import {
  createSmolstep,
  InProcessQueue,
  isQueueMessage,
  MemoryStore,
  type QueueMessage,
  type RunQueue,
} from "../../lib/server.ts";
import { deleteFileTool } from "../support/approval_tools.ts";
import { serveBackground } from "../support/background_app.ts";
import { apiClient } from "../support/http_client.ts";
import { scriptCalculation } from "../support/run_scenarios.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { whsecSecret } from "../support/webhook_senders.ts";

/**
 * A background run with a callback that pauses for approval and is never answered expires after
 * `idleRunTtlSeconds`: its result callback is sent once, with status `expired`. One answered in time is not
 * reported expired; its callback reports how it really ended. Real loopback callback receiver, in-process queue.
 */
Deno.test("background runs: an expired run sends its result callback once, with status expired", async (t) => {
  const model = await startScriptedModelServer();
  const received: Array<{ id: string | null; body: { runId: string; status: string } }> = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.push({ id: request.headers.get("webhook-id"), body: await request.json() });
    return new Response(null, { status: 204 });
  });
  const callbackUrl = `http://127.0.0.1:${receiver.addr.port}/done`;
  const agent = new ToolCallingAgent({
    name: "careful",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [deleteFileTool()],
  });
  const app = serveBackground({
    agents: { careful: agent },
    store: new MemoryStore(),
    idleRunTtlSeconds: 1,
    egress: { allowPrivateNetwork: true },
  });
  try {
    await t.step("never answered: one callback, status expired, after the idle time", async () => {
      model.reset();
      model.enqueue(toolCallReply("delete_file", { path: "/x" }));
      const started = Date.now();
      const created = await app.api.post("/v1/agents/careful/runs", { task: "t", background: true, callbackUrl });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await app.queue.idle({ watches: true }); // the step, then the expiry check (delayed past the idle time)
      const runId = created.body.runId;
      assert.equal((await app.api.get(`/v1/runs/${runId}`)).body.status, "expired");
      assert.deepEqual(received.map((r) => [r.id, r.body.runId, r.body.status]), [[
        `${runId}:result`,
        runId,
        "expired",
      ]]);
      assert.ok(Date.now() - started >= 1000, "not before the run was idle for idleRunTtlSeconds");
      assert.equal(app.queue.delivered.filter((m) => m.type === "expiry").length, 1);
    });

    await t.step("answered in time: no expired callback; the answer's outcome is reported", async () => {
      received.length = 0;
      model.reset();
      model.enqueue(toolCallReply("delete_file", { path: "/y" }), toolCallReply("final_answer", { answer: "done" }));
      const created = await app.api.post("/v1/agents/careful/runs", { task: "t", background: true, callbackUrl });
      const runId = created.body.runId;
      for (let i = 0; i < 100 && (await app.api.get(`/v1/runs/${runId}`)).body.status !== "awaiting_input"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const answered = await app.api.post(`/v1/runs/${runId}/input`, { approve: true });
      assert.equal(answered.status, 200, JSON.stringify(answered.body));
      await app.queue.idle();
      assert.equal((await app.api.get(`/v1/runs/${runId}`)).body.status, "succeeded");
      assert.deepEqual(received.map((r) => [r.body.runId, r.body.status]), [[runId, "succeeded"]]);
    });
  } finally {
    await app.close();
    await receiver.shutdown();
    await model.close();
  }
});

/**
 * A running background run whose step messages are all lost (the platform dropped them: here every "step 1"
 * message, the watchdog's re-enqueue included) stops being stepped. Once it reads `expired`, its callback owner is
 * told: one signed callback with status `expired`. A run that ends normally gets its own callback only.
 */
Deno.test("background runs: a running run whose queue messages were lost sends one expired callback", async (t) => {
  const secret = whsecSecret("callback-secret-0123456789");
  const model = await startScriptedModelServer();
  const received: Array<{ headers: Headers; body: string }> = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.push({ headers: request.headers, body: await request.text() });
    return new Response(null, { status: 204 });
  });
  const callbackUrl = `http://127.0.0.1:${receiver.addr.port}/done`;
  const queue = new InProcessQueue();
  let dropped = 0;
  let dropping = true;
  // The platform loses every message that would take a run past its first step.
  const lossy: RunQueue = {
    enqueue(message: QueueMessage, options?: { delayMs?: number }) {
      if (dropping && message.type === "step" && message.seq === 1) {
        dropped++;
        return Promise.resolve();
      }
      return queue.enqueue(message, options);
    },
  };
  const smolstep = createSmolstep({
    agents: createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    store: new MemoryStore(),
    queue: lossy,
    retryDelayMs: 5,
    lockTtlMs: 200,
    idleRunTtlSeconds: 1,
    webhookSecret: secret,
    egress: { allowPrivateNetwork: true },
  });
  queue.listen(smolstep.handleQueueMessage);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
  const callbacks = () =>
    received.map((r) => {
      const body = new Webhook(secret).verify(r.body, Object.fromEntries(r.headers)) as { runId: string };
      return [r.headers.get("webhook-id"), body.runId, (body as { status?: string }).status];
    });
  try {
    await t.step("its step messages lost: one signed callback, status expired", async () => {
      model.reset();
      scriptCalculation(model);
      const created = await api.post("/v1/agents/assistant/runs", { task: "6*7?", background: true, callbackUrl });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const runId = created.body.runId;
      await queue.idle({ watches: true }); // the first step, the watchdog copy, then the watches until it expires
      assert.ok(dropped >= 1, "the second step's message was lost");
      assert.equal(model.requests.length, 1, "stepped once");
      assert.equal((await api.get(`/v1/runs/${runId}`)).body.status, "expired");
      assert.deepEqual(callbacks(), [[`${runId}:result`, runId, "expired"]]);
    });

    await t.step("a run that ends normally: only its own callback", async () => {
      received.length = 0;
      dropping = false;
      model.reset();
      scriptCalculation(model);
      const created = await api.post("/v1/agents/assistant/runs", { task: "6*7?", background: true, callbackUrl });
      const runId = created.body.runId;
      await queue.idle({ watches: true }); // the steps, the callback, the watch that finds it ended
      assert.equal((await api.get(`/v1/runs/${runId}`)).body.status, "succeeded");
      assert.deepEqual(callbacks(), [[`${runId}:result`, runId, "succeeded"]]);
      assert.ok(queue.delivered.some((m) => m.type === "expiry" && m.runId === runId), "watched");
    });
  } finally {
    await queue.idle();
    queue.close();
    await server.shutdown();
    await receiver.shutdown();
    await model.close();
  }
});

Deno.test("isQueueMessage: the expiry message is one of ours; malformed ones are not", () => {
  assert.ok(isQueueMessage({ type: "expiry", runId: "r", seq: 3 }));
  assert.ok(isQueueMessage({ type: "step", runId: "r", seq: 0, attempt: 1 }));
  assert.ok(isQueueMessage({ type: "callback", runId: "r", attempt: 1 }));
  assert.ok(!isQueueMessage({ type: "expiry", runId: "r" }));
  assert.ok(!isQueueMessage({ type: "step", runId: "r", seq: 0 }));
  assert.ok(!isQueueMessage({ type: "other", runId: "r", attempt: 1 }));
  assert.ok(!isQueueMessage(null));
});
