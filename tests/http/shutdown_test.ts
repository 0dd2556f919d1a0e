import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { type AppOptions, createSmolstep, type QueueMessage, type RunQueue } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus_text_parser.ts";
import { type HungModelServer, startHungModelServer } from "../support/hung_model_server.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/**
 * `Smolstep.shutdown`: over real loopback on a real Deno KV, with a model that hangs until told to answer. Steps in
 * flight past the grace are aborted through their signal (HTTP, stateless, OpenAI-compatible and background ones);
 * when `shutdown` resolves each has given its run back byte for byte, unlocked, so another app on the same store (the
 * next process) steps it at once. The step deadline is long (60 s), so nothing here ends by timing out.
 */

const SECRET = "shutdown-secret-0123456789abcdef";

/** Queue messages are recorded, not delivered: the test hands them to the app itself. */
class RecordingQueue implements RunQueue {
  readonly sent: { message: QueueMessage; delayMs: number | undefined }[] = [];
  enqueue(message: QueueMessage, options: { delayMs?: number } = {}): Promise<void> {
    this.sent.push({ message, delayMs: options.delayMs });
    return Promise.resolve();
  }
}

/** The apps share a Deno KV store and a model: hung by default, else the one at `modelUrl`. */
async function world(modelUrl?: string) {
  const model = startHungModelServer();
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const agent = () =>
    new ToolCallingAgent({
      name: "assistant",
      model: new OpenAIServerModel({ modelId: "m", apiBase: modelUrl ?? model.url, apiKey: "k", maxRetries: 0 }),
    });
  const servers: Deno.HttpServer[] = [];
  /** An app on the shared store: the stopping process, or the next one. */
  const serve = (options: Partial<AppOptions> = {}) => {
    const queue = new RecordingQueue();
    const smolstep = createSmolstep({
      agents: { assistant: agent() },
      store,
      queue,
      secret: SECRET,
      lockTtlMs: 120_000,
      stepTimeoutMs: 60_000,
      retryDelayMs: 700,
      ...options,
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
    servers.push(server);
    const url = `http://127.0.0.1:${server.addr.port}`;
    return { smolstep, queue, url, api: apiClient(url) };
  };
  const runBytes = async (runId: string) => (await store.get(`runs/${runId}`))?.value;
  const close = async () => {
    model.answerWith({ answer: "bye" });
    for (const server of servers) await server.shutdown();
    await model.close();
    kv.close();
  };
  return { model, serve, runBytes, store, close };
}

/** Resolves once the model has received `count` calls (bounded). */
async function modelReceived(model: HungModelServer, count: number) {
  for (let i = 0; i < 1000 && model.received < count; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(model.received, count, "the step reached the model");
}

/** POSTs JSON without waiting for the answer. */
function post(url: string, body: unknown) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
    .then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));
}

Deno.test("shutdown: a KV step past the grace is aborted; the run is as it was and unlocked when it resolves", async () => {
  const { model, serve, runBytes, close } = await world();
  try {
    const stopping = serve();
    const { body: run } = await stopping.api.post("/v1/agents/assistant/runs", { task: "hang" });
    const before = await runBytes(run.runId);
    const answer = post(`${stopping.url}/v1/runs/${run.runId}/steps`, {});
    await modelReceived(model, 1);

    await stopping.smolstep.shutdown({ graceMs: 50 });
    assert.equal(await runBytes(run.runId), before, "given back byte for byte, unlocked, before shutdown resolved");
    const aborted = await answer;
    assert.equal(aborted.status, 503, JSON.stringify(aborted.body));
    assert.deepEqual([aborted.body.error.code, aborted.body.error.retryable], ["shutting_down", true]);
    assert.equal(model.abandoned, 1, "the model call was abandoned");

    // A step that starts after the shutdown is refused before it reads anything.
    const late = await stopping.api.post(`/v1/runs/${run.runId}/steps`);
    assert.equal(late.status, 503, JSON.stringify(late.body));
    assert.equal(late.body.error.code, "shutting_down");
    assert.equal(model.received, 1);
    const families = parsePrometheusText(stopping.smolstep.metrics!.render());
    const steps = (agent: string, outcome: string) =>
      sampleValue(families, "smolstep_step_duration_seconds_count", { agent, mode: "kv", outcome });
    // The late step was refused before its run was read: no agent label.
    assert.deepEqual(
      [steps("assistant", "aborted"), steps("", "aborted"), steps("assistant", "error"), steps("", "error")],
      [1, 1, undefined, undefined],
      "both counted as aborted, not as errors",
    );

    model.answerWith({ answer: "done next door" });
    const next = serve();
    const stepped = await next.api.post(`/v1/runs/${run.runId}/steps`);
    assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
    assert.equal(stepped.body.finalAnswer, "done next door");
  } finally {
    await close();
  }
});

Deno.test("shutdown: a stateless step past the grace is aborted and frees its token's claim", async () => {
  const { model, serve, close } = await world();
  try {
    const stopping = serve();
    const { body: sealed } = await stopping.api.post("/v1/agents/assistant/runs", { task: "hang", stateless: true });
    const answer = post(`${stopping.url}/v1/agents/assistant/steps`, { state: sealed.state });
    await modelReceived(model, 1);
    await stopping.smolstep.shutdown({ graceMs: 50 });
    const aborted = await answer;
    assert.equal(aborted.status, 503, JSON.stringify(aborted.body));

    model.answerWith({ answer: "the same token" });
    const again = await serve().api.post("/v1/agents/assistant/steps", { state: sealed.state });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.finalAnswer, "the same token");
  } finally {
    await close();
  }
});

Deno.test("shutdown: a chat completion's step past the grace is aborted; its run is left unlocked", async () => {
  const { model, serve, close } = await world();
  try {
    // No queue: the request steps the run itself (with one, it would follow a background run).
    const stopping = serve({ queue: undefined });
    const answer = post(`${stopping.url}/v1/chat/completions`, {
      model: "assistant",
      messages: [{ role: "user", content: "hang" }],
    });
    await modelReceived(model, 1);
    await stopping.smolstep.shutdown({ graceMs: 50 });
    const aborted = await answer;
    assert.equal(aborted.status, 503, JSON.stringify(aborted.body));
    const runId = aborted.headers.get("X-Smolstep-Run-Id");
    assert.ok(runId, "the answer names its run");

    model.answerWith({ answer: "continued" });
    const stepped = await serve().api.post(`/v1/runs/${runId}/steps`);
    assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
    assert.equal(stepped.body.finalAnswer, "continued");
  } finally {
    await close();
  }
});

Deno.test("shutdown: a chat completion that comes once the steps are aborted starts no run", async () => {
  const { serve, store, close } = await world();
  try {
    for (const options of [{ queue: undefined }, {}]) {
      const stopping = serve(options);
      await stopping.smolstep.shutdown({ graceMs: 0 });
      const refused = await post(`${stopping.url}/v1/chat/completions`, {
        model: "assistant",
        messages: [{ role: "user", content: "too late" }],
      });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, "shutting_down");
    }
    assert.deepEqual((await store.list("runs/")).keys, [], "no run left behind that nothing steps");
  } finally {
    await close();
  }
});

Deno.test("shutdown: a background step is aborted, its run given back, and its message queued again", async () => {
  const { model, serve, runBytes, close } = await world();
  try {
    const stopping = serve();
    const { body: run } = await stopping.api.post("/v1/agents/assistant/runs", { task: "hang", background: true });
    const [first] = stopping.queue.sent.map((sent) => sent.message);
    const id = (first as { id?: string }).id;
    assert.match(id ?? "", /^[0-9a-f]{12}$/, "a message of its own");
    assert.deepEqual(first, { type: "step", runId: run.runId, seq: 0, attempt: 1, id });
    const before = await runBytes(run.runId);
    const handled = stopping.smolstep.handleQueueMessage(first);
    await modelReceived(model, 1);

    await stopping.smolstep.shutdown({ graceMs: 50 });
    assert.equal(await runBytes(run.runId), before, "given back byte for byte, unlocked");
    await handled; // acknowledged: the message was queued again, as it was, for the next process
    const again = stopping.queue.sent.filter((sent) => sent.message.type === "step").slice(1);
    assert.deepEqual(again, [
      { message: first, delayMs: 120_000 + 1000 }, // the watchdog copy, queued before the lock
      { message: first, delayMs: 700 }, // after retryDelayMs, not counted as a failed attempt
    ]);
    const families = parsePrometheusText(stopping.smolstep.metrics!.render());
    const steps = (outcome: string) =>
      sampleValue(families, "smolstep_step_duration_seconds_count", {
        agent: "assistant",
        mode: "background",
        outcome,
      });
    assert.deepEqual([steps("aborted"), steps("error")], [1, undefined], "counted as aborted, not as an error");

    // The next process takes the message: the run was unlocked, so it steps at once (its first step).
    model.answerWith({ answer: "continued in the background" });
    const next = serve();
    await next.smolstep.handleQueueMessage(first);
    const done = await next.api.get(`/v1/runs/${run.runId}`);
    assert.equal(done.body.stepNumber, 1, JSON.stringify(done.body));
    assert.equal(model.received, 2);
  } finally {
    await close();
  }
});

Deno.test("shutdown: a step that ends within the grace commits, and shutdown waits for it", async () => {
  const scripted = await startScriptedModelServer();
  const { serve, runBytes, close } = await world(scripted.url);
  try {
    const stopping = serve();
    const { body: run } = await stopping.api.post("/v1/agents/assistant/runs", { task: "slow" });
    scripted.enqueue({ ...toolCallReply("final_answer", { answer: "finished in the grace" }), delayMs: 500 });
    const answer = post(`${stopping.url}/v1/runs/${run.runId}/steps`, {});
    for (let i = 0; i < 1000 && scripted.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await stopping.smolstep.shutdown({ graceMs: 60_000 });
    assert.match(String(await runBytes(run.runId)), /finished in the grace/, "committed before shutdown resolved");
    const finished = await answer;
    assert.equal(finished.status, 200, JSON.stringify(finished.body));
    assert.equal(finished.body.finalAnswer, "finished in the grace");
  } finally {
    await close();
    await scripted.close();
  }
});
