import assert from "node:assert/strict";
import { createAgents } from "../../functions/agents.ts";
import { Webhook } from "standardwebhooks";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../lib/server.ts";
import { serveBackground } from "../support/background_app.ts";
import { scriptCalculation } from "../support/run_scenarios.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { githubHeaders, nowSeconds, postHook, standardHeaders, whsecSecret } from "../support/webhook_senders.ts";

const HOOK_SECRET = whsecSecret("hook-secret-0123456789");

/** A webhook signed by the reference Standard Webhooks library. */
function signedHook(
  url: string,
  body: string,
  delivery: { id?: string; timestamp?: number } = {},
  secret = HOOK_SECRET,
) {
  return postHook(url, body, standardHeaders(secret, body, delivery));
}

Deno.test("background runs, webhooks and callbacks (in-process queue)", async (t) => {
  const model = await startScriptedModelServer();
  const received: Array<{ headers: Headers; body: string }> = [];
  let callbackFailures = 1;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.push({ headers: request.headers, body: await request.text() });
    return new Response(null, { status: callbackFailures-- > 0 ? 500 : 204 });
  });
  const callbackUrl = `http://127.0.0.1:${receiver.addr.port}/done`;
  const agents = {
    ...createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    fragile: new ToolCallingAgent({
      name: "fragile",
      model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    }),
  };
  const app = serveBackground({
    agents,
    store: new MemoryStore(),
    webhookSecret: HOOK_SECRET,
    webhooks: { assistant: { task: "Issue opened: {{issue.title}} (by {{issue.user.login}})", callbackUrl } },
    // The callback receiver is on loopback: the local-development egress opt-in.
    egress: { allowPrivateNetwork: true },
  });

  try {
    await t.step("a background run finishes with nobody polling", async () => {
      model.reset();
      scriptCalculation(model);
      const created = await app.api.post("/v1/agents/assistant/runs", { task: "6*7?", background: true });
      assert.equal(created.status, 201);
      assert.equal(created.body.background, true);
      await app.queue.idle();
      const run = await app.api.get(`/v1/runs/${created.body.runId}`);
      assert.equal(run.body.status, "succeeded");
      assert.equal(run.body.finalAnswer, "6 times 7 is 42");
      assert.equal(model.requests.length, 2);
    });

    await t.step("duplicate and stale queue deliveries change nothing", async () => {
      model.reset();
      scriptCalculation(model);
      const { body } = await app.api.post("/v1/agents/assistant/runs", { task: "6*7?", background: true });
      // The platform delivers the first message three times at once.
      // (`seq` is the run's count of committed steps: 0 for the first step.)
      const first = { type: "step" as const, runId: body.runId, seq: 0, attempt: 1 };
      await Promise.allSettled([app.handle(first), app.handle(first), app.handle(first)]);
      await app.queue.idle();
      const before = (await app.api.get(`/v1/runs/${body.runId}`)).body;
      assert.equal(before.status, "succeeded");
      assert.deepEqual(before.steps.map((s: { type: string }) => s.type), ["task", "action", "action", "final_answer"]);
      assert.equal(model.requests.length, 2, "each step called the model once");
      await app.handle(first);
      await app.handle({ ...first, seq: 1 });
      await app.queue.idle();
      assert.deepEqual((await app.api.get(`/v1/runs/${body.runId}`)).body, before);
      assert.equal(model.requests.length, 2);

      // A message made stale by a step that came another way (a client's POST) does not step again.
      model.reset();
      model.enqueue(toolCallReply("calculator", { expression: "1" }), toolCallReply("calculator", { expression: "2" }));
      const { body: manual } = await app.api.post("/v1/agents/assistant/runs", { task: "count" });
      await app.api.post(`/v1/runs/${manual.runId}/steps`);
      await app.handle({ type: "step", runId: manual.runId, seq: 0, attempt: 1 });
      await app.queue.idle();
      assert.equal((await app.api.get(`/v1/runs/${manual.runId}`)).body.steps.length, 2);
      assert.equal(model.requests.length, 1);
    });

    await t.step("model failures are retried by the runner, then give up with status failed", async () => {
      model.reset();
      model.enqueue({ status: 500, error: "flaky" }, toolCallReply("final_answer", { answer: "made it" }));
      const ok = await app.api.post("/v1/agents/fragile/runs", { task: "x", background: true });
      await app.queue.idle();
      assert.equal((await app.api.get(`/v1/runs/${ok.body.runId}`)).body.finalAnswer, "made it");
      model.reset();
      model.setHandler(() => ({ status: 503, error: "down for good" }));
      const bad = await app.api.post("/v1/agents/fragile/runs", { task: "x", background: true });
      await app.queue.idle();
      const failed = (await app.api.get(`/v1/runs/${bad.body.runId}`)).body;
      assert.equal(failed.status, "failed");
      assert.match(failed.error.message, /down for good.*gave up after 5 attempts/);
      assert.equal(model.requests.length, 5);
      model.setHandler(undefined);
    });

    await t.step(
      "a signed webhook starts a background run; its result is POSTed back, signed, with retries",
      async () => {
        model.reset();
        received.length = 0;
        model.enqueue(toolCallReply("final_answer", { answer: "triaged" }));
        const payload = JSON.stringify({ issue: { title: "Crash on start", user: { login: "ada" } } });
        const hook = await signedHook(`${app.url}/v1/hooks/assistant`, payload);
        assert.equal(hook.status, 202, JSON.stringify(hook.body));
        await app.queue.idle();
        const run = (await app.api.get(`/v1/runs/${hook.body.runId}`)).body;
        assert.equal(run.task, "Issue opened: Crash on start (by ada)");
        assert.equal(run.status, "succeeded");
        assert.equal(received.length, 2, "the first callback got a 500 and was retried");
        const last = received[1];
        // The reference Standard Webhooks library verifies the callback (signature, id, timestamp).
        const verified = new Webhook(HOOK_SECRET).verify(last.body, Object.fromEntries(last.headers));
        assert.deepEqual((verified as { finalAnswer: string }).finalAnswer, "triaged");
        assert.equal(last.headers.get("webhook-id"), `${hook.body.runId}:result`);
        assert.equal(received[0].headers.get("webhook-id"), last.headers.get("webhook-id"), "retries keep the id");
        assert.throws(() =>
          new Webhook(whsecSecret("another secret")).verify(last.body, Object.fromEntries(last.headers))
        );
      },
    );

    await t.step(
      "a replayed webhook changes nothing; bad, stale, unsigned and oversized ones are refused",
      async () => {
        model.reset();
        model.enqueue(toolCallReply("final_answer", { answer: "once" }));
        const first = await signedHook(`${app.url}/v1/hooks/assistant`, "{}", { id: "delivery-42" });
        const replay = await signedHook(`${app.url}/v1/hooks/assistant`, "{}", { id: "delivery-42" });
        assert.equal(first.status, 202);
        assert.deepEqual(replay, { status: 200, body: { duplicate: true, runId: first.body.runId } });
        await app.queue.idle();
        assert.equal(model.requests.length, 1);

        const url = `${app.url}/v1/hooks/assistant`;
        const wrongSecret = await signedHook(url, "{}", {}, whsecSecret("not-the-secret-at-all"));
        assert.deepEqual([wrongSecret.status, wrongSecret.body.error.code], [401, "invalid_signature"]);
        const stale = await signedHook(url, "{}", { timestamp: nowSeconds() - 3600 });
        assert.deepEqual([stale.status, stale.body.error.code], [401, "stale_timestamp"]);
        const unsigned = await fetch(url, { method: "POST", body: "{}" });
        assert.deepEqual([unsigned.status, (await unsigned.json()).error.code], [401, "missing_signature"]);
        const huge = await signedHook(url, JSON.stringify({ blob: "x".repeat(1024 * 1024) }));
        assert.deepEqual([huge.status, huge.body.error.code], [413, "payload_too_large"]);
        const tampered = await postHook(url, '{"issue":{"title":"evil"}}', standardHeaders(HOOK_SECRET, "{}"));
        assert.deepEqual([tampered.status, tampered.body.error.code], [401, "invalid_signature"]);
        const noHook = await signedHook(`${app.url}/v1/hooks/fragile`, "{}");
        assert.deepEqual([noHook.status, noHook.body.error.code], [404, "webhook_not_configured"]);
      },
    );

    await t.step("GitHub-style signatures (X-Hub-Signature-256 over the raw body) are accepted", async () => {
      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: "gh" }));
      const body = JSON.stringify({ issue: { title: "From GitHub", user: { login: "octocat" } } });
      const response = await postHook(`${app.url}/v1/hooks/assistant`, body, githubHeaders(HOOK_SECRET, body));
      assert.equal(response.status, 202);
      await app.queue.idle();
      const run = (await app.api.get(`/v1/runs/${response.body.runId}`)).body;
      assert.equal(run.task, "Issue opened: From GitHub (by octocat)");
    });

    await t.step("background needs a queue; stateless runs cannot be background runs", async () => {
      const noQueue = createSmolstep({ agents, store: new MemoryStore() }).app;
      const response = await noQueue.request("/v1/agents/assistant/runs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ task: "x", background: true }),
      });
      assert.equal(response.status, 501);
      assert.equal((await response.json()).error.code, "queue_not_configured");
      const mixed = await app.api.post("/v1/agents/assistant/runs", { task: "x", background: true, stateless: true });
      assert.equal(mixed.status, 400);
    });
  } finally {
    await app.close();
    await receiver.shutdown();
    await model.close();
  }
});

Deno.test("a background run with a managed agent finishes (sub-run steps advance the run's sequence)", async () => {
  const helper = new ToolCallingAgent({
    name: "helper",
    description: "Answers.",
    model: () => ({
      content: null,
      toolCalls: [{ id: "h", type: "function", function: { name: "final_answer", arguments: { answer: 41 } } }],
    }),
  });
  let managerCalls = 0;
  const manager = new ToolCallingAgent({
    name: "boss",
    model: () => {
      managerCalls++;
      const call = managerCalls === 1
        ? { name: "helper", arguments: { task: "your number?" } }
        : { name: "final_answer", arguments: { answer: "42" } };
      return { content: null, toolCalls: [{ id: `m${managerCalls}`, type: "function" as const, function: call }] };
    },
    managedAgents: [helper],
  });
  const app = serveBackground({ agents: { boss: manager }, store: new MemoryStore() });
  try {
    const { body } = await app.api.post("/v1/agents/boss/runs", { task: "x", background: true });
    await app.queue.idle();
    const run = (await app.api.get(`/v1/runs/${body.runId}`)).body;
    assert.equal(run.status, "succeeded");
    assert.equal(run.finalAnswer, "42");
    assert.equal(managerCalls, 2);
    assert.ok(app.queue.delivered.length < 20, `${app.queue.delivered.length} deliveries`);
  } finally {
    await app.close();
  }
});
