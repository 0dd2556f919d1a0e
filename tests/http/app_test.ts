import assert from "node:assert/strict";
import { z } from "zod";
import { createAgents } from "../../functions/agents.ts";
import { OpenAIServerModel, type StateStore, tool, ToolCallingAgent, VERSION } from "../../lib/mod.ts";
import { type AppOptions, createApp, MemoryStore } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { kvFullRun, statelessFullRun } from "../support/run_scenarios.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "http-test-secret-0123456789";

/** Serves `createApp(options)` on a real loopback port. */
function serve(options: AppOptions) {
  const app = createApp(options);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, close: () => server.shutdown() };
}

function testAgents(model: ScriptedModelServer) {
  const openai = new OpenAIServerModel({ modelId: "scripted", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const wait = tool({
    name: "wait",
    description: "Waits a little.",
    inputs: z.object({ ms: z.number() }),
    run: ({ ms }) => new Promise((resolve) => setTimeout(() => resolve(`waited ${ms}`), ms)),
  });
  return {
    ...createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    noretry: new ToolCallingAgent({ name: "noretry", model: openai, tools: [wait], maxSteps: 2 }),
  };
}

Deno.test("HTTP API over loopback", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const stores: Array<[string, StateStore]> = [["memory", new MemoryStore()], ["deno kv", new DenoKvStore(kv)]];
  const server = await serve({ agents: testAgents(model), store: stores[0][1], secret: SECRET });
  const api = apiClient(server.url);

  try {
    await t.step("health and agent listing with tool schemas", async () => {
      const health = await api.get("/health");
      const { uptimeSeconds, ...rest } = health.body;
      // assistant, researcher (functions/agents.ts) and noretry
      assert.deepEqual(rest, { ok: true, agents: 3, version: VERSION, stepsInFlight: 0, maxStepsInFlight: 100 });
      assert.ok(Number.isInteger(uptimeSeconds) && uptimeSeconds >= 0);
      const listing = await api.get("/v1/agents");
      const assistant = listing.body.agents.find((a: { name: string }) => a.name === "assistant");
      assert.equal(assistant.kind, "ToolCallingAgent");
      const calculator = assistant.tools.find((x: { name: string }) => x.name === "calculator");
      assert.equal(calculator.parameters.type, "object");
      const researcher = listing.body.agents.find((a: { name: string }) => a.name === "researcher");
      assert.deepEqual(
        researcher.tools.map((x: { name: string }) => x.name).sort(),
        ["final_answer", "visit_webpage", "web_search"],
      );
      assert.deepEqual(calculator.parameters.required, ["expression"]);
      assert.ok(assistant.tools.some((x: { name: string }) => x.name === "final_answer"));
      assert.deepEqual(listing.body.modes, { kv: true, stateless: true, background: false });
    });

    for (const [label, store] of stores) {
      await t.step(`KV mode full run (${label} store)`, async () => {
        const own = await serve({ agents: testAgents(model), store, secret: SECRET });
        try {
          await kvFullRun(apiClient(own.url), model);
        } finally {
          await own.close();
        }
      });
    }

    await t.step("stateless full run; the model saw the whole memory each step", async () => {
      model.reset();
      await statelessFullRun(api, model);
      const second = model.requests[1].body.messages!;
      assert.equal(second[0].role, "system");
      assert.match(JSON.stringify(second), /Observation:\\n42/);
    });

    await t.step("stateless tokens that were tampered with run nothing", async () => {
      model.reset();
      const created = await api.post("/v1/agents/assistant/runs", { task: "x", stateless: true });
      const token: string = created.body.state;
      const flipped = token.slice(0, 20) + (token[20] === "A" ? "B" : "A") + token.slice(21);
      for (const bad of [flipped, token.slice(0, token.length - 10), token + "x"]) {
        const response = await api.post("/v1/agents/assistant/steps", { state: bad });
        assert.equal(response.status, 400, bad);
        assert.equal(response.body.error.code, "invalid_token");
      }
      const foreign = await serve({ agents: testAgents(model), secret: "another-secret-9876543210" });
      const other = await apiClient(foreign.url).post("/v1/agents/assistant/steps", { state: token });
      await foreign.close();
      assert.equal(other.status, 400);
      const mismatch = await api.post("/v1/agents/noretry/steps", { state: token });
      assert.equal(mismatch.status, 400);
      assert.equal(mismatch.body.error.code, "token_agent_mismatch");
      assert.equal(model.requests.length, 0, "the model was never called");
    });

    await t.step("Idempotency-Key replays the recorded step instead of running another", async () => {
      model.reset();
      model.enqueue(toolCallReply("calculator", { expression: "1+1" }));
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "1+1" });
      const headers = { "Idempotency-Key": "step-1" };
      const first = await api.post(`/v1/runs/${run.runId}/steps`, undefined, headers);
      const again = await api.post(`/v1/runs/${run.runId}/steps`, undefined, headers);
      assert.equal(first.status, 200);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, first.body, "the replay answers exactly as the step did (stepAgent included)");
      assert.equal(first.body.stepAgent, "assistant");
      assert.equal(again.headers.get("Idempotent-Replayed"), "true");
      assert.equal(model.requests.length, 1);
      const stored = await api.get(`/v1/runs/${run.runId}`);
      assert.equal(stored.body.steps.length, 2);
    });

    await t.step(
      "an Idempotency-Key replayed after later steps answers as its step did, not as the run is now",
      async () => {
        model.reset();
        model.enqueue(toolCallReply("calculator", { expression: "1+1" }));
        model.enqueue(toolCallReply("final_answer", { answer: "2" }));
        const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "1+1, then answer" });
        const first = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "early" });
        const last = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "late" });
        assert.equal(last.body.status, "succeeded");
        const replay = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "early" });
        assert.equal(replay.status, 200);
        assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
        assert.equal(first.body.status, "running");
        assert.deepEqual(
          replay.body,
          first.body,
          "status, step number, token usage and step as the first step left them",
        );
        assert.deepEqual(
          (await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "late" })).body,
          last.body,
          "the final step's replay keeps its final answer",
        );
        assert.equal(model.requests.length, 2);
      },
    );

    await t.step("concurrent steps on one run: exactly one runs, the others get 409", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("wait", { ms: 1 }), delayMs: 300 });
      const { body: run } = await api.post("/v1/agents/noretry/runs", { task: "wait" });
      const responses = await Promise.all(Array.from({ length: 20 }, () => api.post(`/v1/runs/${run.runId}/steps`)));
      const statuses = responses.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, ...Array(19).fill(409)]);
      assert.ok(responses.filter((r) => r.status === 409).every((r) => r.body.error.code === "step_in_progress"));
      assert.equal(model.requests.length, 1);
      const stored = await api.get(`/v1/runs/${run.runId}`);
      assert.equal(stored.body.steps.length, 2, "one task and one action step");
    });

    await t.step("a model failure is a 502 and leaves the run as it was; the step can be retried", async () => {
      model.reset();
      model.enqueue({ status: 500, error: "upstream exploded" });
      const { body: run } = await api.post("/v1/agents/noretry/runs", { task: "wait" });
      const before = await api.get(`/v1/runs/${run.runId}`);
      const failed = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(failed.status, 502);
      assert.equal(failed.body.error.code, "model_error");
      assert.match(failed.body.error.message, /upstream exploded/);
      const after = await api.get(`/v1/runs/${run.runId}`);
      assert.deepEqual(after.body, before.body);
      model.enqueue(toolCallReply("final_answer", { answer: "ok" }));
      const retried = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(retried.status, 200);
      assert.equal(retried.body.status, "succeeded");
    });

    await t.step("maxSteps from the request ends the run with max_steps_error", async () => {
      model.reset();
      model.enqueue(toolCallReply("wait", { ms: 1 }), "My best answer");
      const { body: run } = await api.post("/v1/agents/noretry/runs", { task: "loop", maxSteps: 1 });
      assert.equal(run.maxSteps, 1);
      const first = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "max-1" });
      assert.equal(first.body.status, "running");
      const last = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "max-2" });
      assert.equal(last.body.status, "max_steps_error");
      assert.equal(last.body.finalAnswer, "My best answer");
      assert.equal(last.body.error.type, "AgentMaxStepsError");
      // Replays after the run ended: the step that ended it with its error, the one before without.
      for (const [key, original] of [["max-1", first], ["max-2", last]] as const) {
        const replay = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": key });
        assert.deepEqual(replay.body, original.body, key);
      }
    });

    await t.step("bad requests get JSON 4xx errors", async () => {
      const cases: Array<[Promise<{ status: number; body: { error: { code: string } } }>, number, string]> = [
        [api.post("/v1/agents/assistant/runs", "{not json"), 400, "invalid_json"],
        [api.post("/v1/agents/assistant/runs", ""), 400, "invalid_json"],
        [api.post("/v1/agents/assistant/runs", { task: 42 }), 400, "invalid_request"],
        [api.post("/v1/agents/assistant/runs", { task: "" }), 400, "invalid_request"],
        [api.post("/v1/agents/assistant/runs", { task: "x", maxStep: 3 }), 400, "invalid_request"],
        [api.post("/v1/agents/assistant/runs", { task: "x", maxSteps: -1 }), 400, "invalid_request"],
        [api.post("/v1/agents/assistant/runs", [1, 2]), 400, "invalid_request"],
        [api.post("/v1/agents/nobody/runs", { task: "x" }), 404, "agent_not_found"],
        [api.post("/v1/agents/constructor/runs", { task: "x" }), 404, "agent_not_found"],
        [api.post("/v1/runs/00000000-0000-0000-0000-000000000000/steps"), 404, "run_not_found"],
        [api.get("/v1/runs/not-a-run"), 404, "run_not_found"],
        [api.get("/v1/runs/..%2F..%2Fetc"), 404, "run_not_found"],
        [api.post("/v1/agents/assistant/steps", { state: 5 }), 400, "invalid_request"],
        [api.post("/v1/agents/assistant/steps", { state: "garbage" }), 400, "invalid_token"],
        [api.get("/nope"), 404, "not_found"],
        [api.post("/v1/agents/assistant/runs", { task: "x".repeat(1024 * 1024 + 1) }), 413, "payload_too_large"],
      ];
      for (const [pending, status, code] of cases) {
        const response = await pending;
        assert.equal(response.status, status, JSON.stringify(response.body));
        assert.equal(response.body.error.code, code);
      }
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "x" });
      const badKey = await api.post(`/v1/runs/${run.runId}/steps`, undefined, { "Idempotency-Key": "k".repeat(201) });
      assert.equal(badKey.status, 400);
      const badBody = await api.post(`/v1/runs/${run.runId}/steps`, { surprise: true });
      assert.equal(badBody.status, 400);
    });
  } finally {
    await server.close();
    kv.close();
    await model.close();
  }
});

Deno.test("HTTP API: authentication, CORS, missing configuration", async (t) => {
  const model = await startScriptedModelServer();
  const secured = await serve({
    agents: createAgents({}),
    store: new MemoryStore(),
    apiKeys: ["key-one", "key-two"],
    cors: { origin: "https://app.example" },
  });
  const bare = await serve({ agents: createAgents({}) });
  try {
    await t.step("API keys guard /v1 but not /health", async () => {
      assert.equal((await apiClient(secured.url).get("/health")).status, 200);
      const none = await apiClient(secured.url).get("/v1/agents");
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, "unauthorized");
      assert.ok(none.headers.get("WWW-Authenticate")?.startsWith("Bearer"));
      assert.equal((await apiClient(secured.url, { apiKey: "key-three" }).get("/v1/agents")).status, 401);
      assert.equal((await apiClient(secured.url, { apiKey: "key-two" }).get("/v1/agents")).status, 200);
    });

    await t.step("CORS preflight for the configured origin only", async () => {
      const preflight = await fetch(`${secured.url}/v1/agents`, {
        method: "OPTIONS",
        headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
      });
      await preflight.body?.cancel();
      assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), "https://app.example");
      const other = await fetch(`${secured.url}/health`, { headers: { Origin: "https://evil.example" } });
      await other.body?.cancel();
      assert.notEqual(other.headers.get("Access-Control-Allow-Origin"), "https://evil.example");
    });

    await t.step("no model configured: a clear 503 on step, runs stay intact", async () => {
      const api = apiClient(secured.url, { apiKey: "key-one" });
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "x" });
      const step = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(step.status, 503);
      assert.equal(step.body.error.code, "not_configured");
      assert.match(step.body.error.message, /OPENAI_API_KEY/);
      assert.equal((await api.get(`/v1/runs/${run.runId}`)).body.steps.length, 1);
    });

    await t.step("no store and no secret: 501s that say what is missing", async () => {
      const api = apiClient(bare.url);
      const kvRun = await api.post("/v1/agents/assistant/runs", { task: "x" });
      assert.equal(kvRun.status, 501);
      assert.equal(kvRun.body.error.code, "store_not_configured");
      const stateless = await api.post("/v1/agents/assistant/runs", { task: "x", stateless: true });
      assert.equal(stateless.status, 501);
      assert.match(stateless.body.error.message, /SMOLSTEP_SECRET/);
    });
  } finally {
    await secured.close();
    await bare.close();
    await model.close();
  }
});
