import assert from "node:assert/strict";
import { startCallbackReceiver } from "../support/callback_receiver.ts";
import { apiClient } from "../support/http_client.ts";
import { calculatorRunReply, scriptCalculation } from "../support/run_scenarios.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { nowSeconds, postHook, standardHeaders, whsecSecret } from "../support/webhook_senders.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";

const HOOK_SECRET = whsecSecret("worker-hook-secret-0123456789");

Deno.test("Workers entry: durable runs in workerd (Durable Object store, Cloudflare Queue)", async (t) => {
  const model = await startScriptedModelServer();
  const worker = await startWranglerDev({
    config: "wrangler.toml",
    readyPath: "/health",
    vars: {
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: "k",
      SMOLSTEP_SECRET: "worker-durable-secret-0123456789",
      SMOLSTEP_WEBHOOK_SECRET: HOOK_SECRET,
      SMOLSTEP_LOCK_TTL_MS: "2000",
      // Result callbacks go to loopback receivers: the local-development egress opt-in.
      SMOLSTEP_EGRESS_ALLOW_PRIVATE: "1",
    },
  });
  const api = apiClient(worker.url);
  try {
    await t.step("a webhook run finishes in the background; SSE shows every step", async () => {
      scriptCalculation(model);
      const body = JSON.stringify({ task: "What is 6 times 7?" });
      const headers = standardHeaders(HOOK_SECRET, body, { id: "w-1" });
      const started = await postHook(`${worker.url}/v1/hooks/assistant`, body, headers);
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const { runId } = started.body;
      const events = await (await fetch(`${worker.url}/v1/runs/${runId}/events`)).text();
      // The stored steps, in order; the model's deltas of the steps in flight (ephemeral) may come between them.
      const names = [...events.matchAll(/^event: (\w+)$/gm)].map((match) => match[1]).filter((name) =>
        name !== "delta"
      );
      assert.deepEqual(names, ["step", "step", "step", "step", "end"], events);
      assert.match(events, /"finalAnswer":"6 times 7 is 42"/);
      // The captured delivery replayed with a new unsigned delivery header starts nothing.
      const replay = await postHook(`${worker.url}/v1/hooks/assistant`, body, {
        ...headers,
        "X-GitHub-Delivery": "another-id",
      });
      assert.deepEqual(replay, { status: 200, body: { duplicate: true, runId } });
    });

    await t.step(
      "bad signature, stale timestamp, invalid payload and oversized payload are 4xx in workerd",
      async () => {
        const url = `${worker.url}/v1/hooks/assistant`;
        const bad = await postHook(url, "{}", { ...standardHeaders(HOOK_SECRET, "{}"), "webhook-id": "forged" });
        assert.deepEqual([bad.status, bad.body.error.code], [401, "invalid_signature"]);
        const stale = await postHook(url, "{}", standardHeaders(HOOK_SECRET, "{}", { timestamp: nowSeconds() - 3600 }));
        assert.deepEqual([stale.status, stale.body.error.code], [401, "stale_timestamp"]);
        const invalid = JSON.stringify({ task: "x", additionalArgs: [1, 2] });
        const refused = await postHook(url, invalid, standardHeaders(HOOK_SECRET, invalid));
        assert.deepEqual([refused.status, refused.body.error.code], [400, "invalid_payload"]);
        const huge = JSON.stringify({ task: "x".repeat(1024 * 1024) });
        const oversized = await postHook(url, huge, standardHeaders(HOOK_SECRET, huge));
        assert.deepEqual([oversized.status, oversized.body.error.code], [413, "payload_too_large"]);
      },
    );

    await t.step("20 concurrent step requests on one run produce exactly one step", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("calculator", { expression: "1 + 1" }), delayMs: 300 });
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "1+1" });
      const responses = await Promise.all(Array.from({ length: 20 }, () => api.post(`/v1/runs/${run.runId}/steps`)));
      assert.deepEqual(responses.map((r) => r.status).sort(), [200, ...Array(19).fill(409)]);
      assert.equal(model.requests.length, 1);
      assert.equal((await api.get(`/v1/runs/${run.runId}`)).body.steps.length, 2);
    });

    await t.step("cancel a background run between steps", async () => {
      model.reset();
      model.setHandler(() => ({ ...toolCallReply("calculator", { expression: "2 + 2" }), delayMs: 200 }));
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "loop", background: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const cancel = await api.post(`/v1/runs/${run.runId}/cancel`);
      assert.ok([200, 202].includes(cancel.status));
      const deadline = Date.now() + 10_000;
      let status = "";
      while (Date.now() < deadline && status !== "cancelled") {
        status = (await api.get(`/v1/runs/${run.runId}`)).body.status;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, "cancelled");
      const steps = (await api.get(`/v1/runs/${run.runId}`)).body.steps.length;
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal((await api.get(`/v1/runs/${run.runId}`)).body.steps.length, steps, "no step after cancel");
      model.setHandler(undefined);
    });

    await t.step("a background run is stepped to its end through the queue, one message per step", async () => {
      // How soon each next step starts is measured in bench/background_continuation_bench.ts, not asserted here
      // (timings swing on a shared machine); tests/package/wrangler_config_test.ts checks the consumer's config.
      model.reset();
      model.setHandler((request) => ({ ...calculatorRunReply(request, 4), delayMs: 100 }));
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "four steps", background: true });
      const deadline = Date.now() + 20_000;
      let body = (await api.get(`/v1/runs/${run.runId}`)).body;
      while (Date.now() < deadline && body.status === "running") {
        await new Promise((resolve) => setTimeout(resolve, 50));
        body = (await api.get(`/v1/runs/${run.runId}`)).body;
      }
      assert.equal(body.status, "succeeded", JSON.stringify(body));
      const actions = (body.steps as Array<{ type: string }>).filter((step) => step.type === "action");
      assert.equal(actions.length, 4, "four action steps, none twice");
      model.setHandler(undefined);
    });

    await t.step("a background run's deltas reach its event stream through the run's Durable Object", async () => {
      // functions/worker.ts gives the app a DurableObjectDeltaRelay (with STATE), which replaces the in-process
      // channel: the deltas below went through the run's object (this step fails when its fan-out drops them).
      // Deployed, that is the only way: the queue consumer is another invocation than the events request; under
      // `wrangler dev` both share an isolate, so an in-process channel would pass here too.
      // The model answers once the events stream is open (and listening), within the 480 ms each attempt has here.
      const listening = Promise.withResolvers<void>();
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      model.reset();
      let calls = 0;
      model.setHandler(async () => {
        if (++calls > 1) return toolCallReply("final_answer", { answer: "42" });
        await Promise.race([listening.promise.then(() => sleep(150)), sleep(350)]);
        return {
          content: "Computing the product.",
          toolCalls: [{ name: "calculator", arguments: { expression: "6 * 7" } }],
        };
      });
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "6*7?", background: true });
      const response = await fetch(`${worker.url}/v1/runs/${run.runId}/events`);
      listening.resolve();
      const events = await response.text();
      model.setHandler(undefined);
      const sent = [...events.matchAll(/^event: (\w+)\n(?:id: .*\n)?data: (.*)$/gm)].map((match) => ({
        event: match[1],
        data: JSON.parse(match[2]),
      }));
      const text = sent.filter(({ event, data }) => event === "delta" && data.stepNumber === 1)
        .map(({ data }) => data.text ?? "").join("");
      assert.equal(text, "Computing the product.", events);
      // Deltas only ever come before their step: none of step 1 after the action step 1 was sent.
      const stepOne = sent.findIndex(({ event, data }) => event === "step" && data.stepNumber === 1);
      assert.ok(stepOne > 0, events);
      assert.ok(!sent.slice(stepOne).some(({ event, data }) => event === "delta" && data.stepNumber === 1), events);
      assert.deepEqual(sent.at(-1), { event: "end", data: { status: "succeeded", finalAnswer: "42", error: null } });
    });

    await t.step("operating in workerd: expiresAt, a hung model cut off within the lock, DELETE", async () => {
      model.reset();
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "slow" });
      const week = 7 * 24 * 3600 * 1000;
      assert.equal(Date.parse(run.expiresAt), Date.parse(run.updatedAt) + 2 * week, "active: idle TTL + run TTL");
      const before = (await api.get(`/v1/runs/${run.runId}`)).body;
      // The lock lasts 2 s here, so a step may take 1.8 s, and the example model's limits are sized to fit (three
      // attempts of about 0.5 s): a model that answers after 2.5 s ends the step with the model's own timeout.
      model.setHandler(() => ({ ...toolCallReply("final_answer", { answer: "late" }), delayMs: 2_500 }));
      const timedOut = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(timedOut.status, 502, JSON.stringify(timedOut.body));
      assert.equal(timedOut.body.error.code, "model_error");
      assert.match(timedOut.body.error.message, /timed out/i);
      assert.equal(model.requests.length, 3, "two retries, then the step gave up");
      assert.deepEqual(
        (await api.get(`/v1/runs/${run.runId}`)).body,
        before,
        "the run is unchanged, its lock given back",
      );

      model.setHandler(() => ({ ...toolCallReply("final_answer", { answer: "on time" }), delayMs: 400 }));
      const stepping = api.post(`/v1/runs/${run.runId}/steps`);
      while (model.requests.length < 4) await new Promise((resolve) => setTimeout(resolve, 20));
      const busy = await api.delete(`/v1/runs/${run.runId}`);
      assert.equal(busy.status, 409);
      assert.equal(busy.body.error.code, "step_in_progress");
      const done = await stepping;
      assert.equal(done.body.finalAnswer, "on time");
      const ended = (await api.get(`/v1/runs/${run.runId}`)).body;
      assert.equal(Date.parse(ended.expiresAt), Date.parse(ended.updatedAt) + week, "finished: run TTL");
      assert.equal((await api.delete(`/v1/runs/${run.runId}`)).status, 204);
      assert.equal((await api.get(`/v1/runs/${run.runId}`)).status, 404);
      model.setHandler(undefined);
    });

    await t.step(
      "callbacks in workerd: delivered to loopback (opt-in); a redirect to a refused host is not followed",
      async () => {
        model.reset();
        model.setHandler(() => toolCallReply("final_answer", { answer: "from workerd" }));
        const secret = startCallbackReceiver();
        // [::ffff:127.0.0.1] reaches the same loopback server, and stays refused even with the opt-in.
        const target = `http://[::ffff:127.0.0.1]:${secret.port}/stolen`;
        const receiver = startCallbackReceiver((url) =>
          url.pathname === "/redirect"
            ? new Response(null, { status: 307, headers: { Location: target } })
            : new Response(null, { status: 204 })
        );
        try {
          for (const path of ["/done", "/redirect"]) {
            const callbackUrl = `${receiver.url}${path}`;
            const started = await api.post("/v1/agents/assistant/runs", { task: "x", background: true, callbackUrl });
            assert.equal(started.status, 201, JSON.stringify(started.body));
          }
          await receiver.waitForHits(2);
          assert.equal(JSON.parse(receiver.bodies[receiver.hits.indexOf("/done")]).finalAnswer, "from workerd");
          await new Promise((resolve) => setTimeout(resolve, 2500)); // a retry would come after 1 s
          assert.deepEqual(receiver.hits.sort(), ["/done", "/redirect"], "the refused redirect was not retried");
          assert.deepEqual(secret.hits, [], "the redirect target was never reached");
          assert.match(worker.logs(), /callback of run \S+ not sent: URL not allowed \(\S+ is IPv4-mapped IPv6/);
        } finally {
          model.setHandler(undefined);
          await Promise.all([receiver.close(), secret.close()]);
        }
      },
    );
  } catch (error) {
    console.error(worker.logs().slice(-4000));
    throw error;
  } finally {
    await worker.close();
    await model.close();
  }
});
