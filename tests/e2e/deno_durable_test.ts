import assert from "node:assert/strict";
import { join } from "node:path";
import { startCallbackReceiver } from "../support/callback_receiver.ts";
import { startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { scriptCalculation } from "../support/run_scenarios.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { nowSeconds, postHook, standardHeaders, whsecSecret } from "../support/webhook_senders.ts";

const HOOK_SECRET = whsecSecret("e2e-hook-secret-0123456789");

/** A Standard Webhooks delivery signed by the reference library. */
function hook(url: string, payload: unknown, delivery: string, extraHeaders: Record<string, string> = {}) {
  const body = JSON.stringify(payload);
  return postHook(`${url}/v1/hooks/assistant`, body, {
    ...standardHeaders(HOOK_SECRET, body, { id: delivery }),
    ...extraHeaders,
  });
}

/** Waits (bounded) until the run reaches one of `statuses`; the run itself is driven by the queue, not by this. */
async function waitForStatus(url: string, runId: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await apiClient(url).get(`/v1/runs/${runId}`);
    if (statuses.includes(run.body.status)) return run.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("Deno entry: durable background runs on the Deno KV queue", async (t) => {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-durable-" });
  const kvPath = join(dir, "kv.sqlite3");
  const env = {
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "k",
    SMOLSTEP_SECRET: "durable-secret-0123456789abcdef",
    SMOLSTEP_WEBHOOK_SECRET: HOOK_SECRET,
    SMOLSTEP_KV_PATH: kvPath,
    SMOLSTEP_LOCK_TTL_MS: "1000",
    SMOLSTEP_RETRY_DELAY_MS: "50",
    // Result callbacks go to a loopback receiver: the local-development egress opt-in.
    SMOLSTEP_EGRESS_ALLOW_PRIVATE: "1",
  };
  let server = await startDenoEntry(env);
  try {
    await t.step("a webhook run finishes in the background; SSE shows every step", async () => {
      scriptCalculation(model);
      const started = await hook(server.url, { task: "What is 6 times 7?" }, "d-1");
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const events = await (await fetch(`${server.url}/v1/runs/${started.body.runId}/events`)).text();
      // The stored steps, in order; the model's deltas of the steps in flight (ephemeral) may come between them.
      const names = [...events.matchAll(/^event: (\w+)$/gm)].map((match) => match[1]).filter((name) =>
        name !== "delta"
      );
      assert.deepEqual(names, ["step", "step", "step", "step", "end"]);
      assert.match(events, /"finalAnswer":"6 times 7 is 42"/);
    });

    await t.step("a replayed webhook and a duplicate queue message change nothing", async () => {
      const before = model.requests.length;
      // The sender's retry (same id, new timestamp), with new unsigned headers an attacker could add.
      const replay = await hook(server.url, { task: "What is 6 times 7?" }, "d-1", {
        "X-Smolstep-Delivery": "new-id",
        "X-GitHub-Delivery": "new-id",
      });
      assert.equal(replay.status, 200);
      assert.equal(replay.body.duplicate, true);
      const run = (await apiClient(server.url).get(`/v1/runs/${replay.body.runId}`)).body;
      // Inject stale and duplicate messages straight into the platform queue.
      const kv = await Deno.openKv(kvPath);
      for (const seq of [0, 1, 2, 3]) await kv.enqueue({ type: "step", runId: run.runId, seq, attempt: 1 });
      kv.close();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual((await apiClient(server.url).get(`/v1/runs/${run.runId}`)).body, run);
      assert.equal(model.requests.length, before);
    });

    await t.step("a process killed mid-step loses nothing; the run completes after restart", async () => {
      model.enqueue({ ...toolCallReply("final_answer", { answer: "never delivered" }), delayMs: 5_000 });
      model.enqueue(toolCallReply("final_answer", { answer: "after restart" }));
      const before = model.requests.length;
      const started = await hook(server.url, { task: "survive a crash" }, "d-2");
      assert.equal(started.status, 202);
      while (model.requests.length === before) await new Promise((resolve) => setTimeout(resolve, 20));
      await server.kill(); // the model call of the step is in flight

      server = await startDenoEntry(env);
      const done = await waitForStatus(server.url, started.body.runId, ["succeeded", "failed"]);
      assert.equal(done.status, "succeeded");
      assert.equal(done.finalAnswer, "after restart");
      assert.deepEqual(done.steps.map((s: { type: string }) => s.type), ["task", "action", "final_answer"]);
    });

    await t.step("bad signature, stale timestamp, invalid payload and oversized payload are 4xx", async () => {
      const url = `${server.url}/v1/hooks/assistant`;
      const bad = await postHook(url, "{}", { ...standardHeaders(HOOK_SECRET, "{}"), "webhook-id": "forged" });
      assert.deepEqual([bad.status, bad.body.error.code], [401, "invalid_signature"]);
      const stale = await postHook(url, "{}", standardHeaders(HOOK_SECRET, "{}", { timestamp: nowSeconds() - 3600 }));
      assert.deepEqual([stale.status, stale.body.error.code], [401, "stale_timestamp"]);
      const invalid = await hook(server.url, { task: "x", additionalArgs: "not an object" }, "d-3");
      assert.deepEqual([invalid.status, invalid.body.error.code], [400, "invalid_payload"]);
      const huge = await hook(server.url, { task: "x".repeat(1024 * 1024) }, "z");
      assert.equal(huge.status, 413);
    });

    await t.step("with SMOLSTEP_EGRESS_ALLOW_PRIVATE=1 the result callback reaches a loopback receiver", async () => {
      const receiver = startCallbackReceiver();
      try {
        model.enqueue(toolCallReply("final_answer", { answer: "called back" }));
        const callbackUrl = `${receiver.url}/done`;
        const api = apiClient(server.url);
        const started = await api.post("/v1/agents/assistant/runs", { task: "x", background: true, callbackUrl });
        assert.equal(started.status, 201, JSON.stringify(started.body));
        await receiver.waitForHits(1);
        assert.equal(JSON.parse(receiver.bodies[0]).finalAnswer, "called back");
        const metadata = await api.post("/v1/agents/assistant/runs", {
          task: "x",
          background: true,
          callbackUrl: "http://169.254.169.254/latest/meta-data/",
        });
        assert.deepEqual([metadata.status, metadata.body.error?.code], [400, "url_not_allowed"], "never metadata");
      } finally {
        await receiver.close();
      }
    });
  } finally {
    await server.kill();
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
});
