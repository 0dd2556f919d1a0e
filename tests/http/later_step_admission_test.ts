/**
 * Admission for a later step of a run that already has steps: the step route and the OpenAI-compatible endpoint
 * (KV mode: the request steps the run itself) answer 503 `overloaded` with `Retry-After` when the server is full,
 * the run stays at its last committed step, and it can be continued once a place is free. The server is filled by
 * a place taken the way a background step takes one (`admission.enter()`, never refused), through a plugin that
 * sees the app's context; real app on loopback, scripted model, the official `openai` client.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import type { AppContext } from "../../lib/http/app_context.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const CALCULATE = toolCallReply("calculator", { expression: "6 * 7" });
const ANSWER = toolCallReply("final_answer", { answer: "42" });

async function serve(model: ScriptedModelServer) {
  const kv = await Deno.openKv(":memory:");
  let ctx: AppContext | undefined;
  const smolstep = createSmolstep({
    agents: {
      calc: new ToolCallingAgent({
        name: "calc",
        model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
        tools: [calculatorTool],
      }),
    },
    store: new DenoKvStore(kv),
    maxStepsInFlight: 1,
    plugins: [{ paths: [], routes: [], mount: (_app, context) => void (ctx = context) }],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    api: apiClient(url),
    /** Takes the server's one place as a background step would; returns its release. */
    fill: () => ctx!.admission.enter(),
    close: async () => {
      await server.shutdown();
      kv.close();
    },
  };
}

Deno.test("a later step of an existing run, refused by a full server: 503 overloaded with Retry-After", async (t) => {
  await using model = await startScriptedModelServer();
  const app = await serve(model);
  /** The first step's model call fills the server while it runs, so the run's second step finds no place. */
  const fillDuringFirstStep = () => {
    model.reset();
    const filled: { release?: () => void } = {};
    model.setHandler(() => {
      if (model.requests.length > 1) return ANSWER;
      filled.release = app.fill();
      return CALCULATE;
    });
    return filled;
  };
  try {
    await t.step("POST /v1/runs/{id}/steps on a run with steps", async () => {
      model.reset();
      model.enqueue(CALCULATE, ANSWER);
      const { body: run } = await app.api.post("/v1/agents/calc/runs", { task: "6*7?" });
      const first = await app.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.stepNumber, 1);

      const release = app.fill();
      const refused = await app.api.post(`/v1/runs/${run.runId}/steps`);
      assert.deepEqual([refused.status, refused.body.error.code], [503, "overloaded"]);
      assert.equal(refused.headers.get("Retry-After"), "1");
      assert.equal(refused.body.error.retryable, true);
      const kept = await app.api.get(`/v1/runs/${run.runId}`);
      assert.deepEqual([kept.body.status, kept.body.stepNumber], ["running", 1], "the run is at its last step");
      assert.equal(model.requests.length, 1, "the refused step reached no model");

      release();
      const retried = await app.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(retried.body.finalAnswer, "42");
    });

    await t.step("POST /v1/chat/completions whose second step is refused (official openai client)", async () => {
      const filled = fillDuringFirstStep();
      const sent: string[] = [];
      const client = new OpenAI({
        baseURL: `${app.url}/v1`,
        apiKey: "none",
        maxRetries: 2,
        fetch: (input, init) => (sent.push(String(input)), fetch(input, init)),
      });
      const chat = { model: "calc", messages: [{ role: "user" as const, content: "6*7?" }] };
      const refused = await client.chat.completions.create(chat).catch((e) => e);
      assert.ok(refused instanceof OpenAI.APIError, String(refused));
      assert.equal(refused.status, 503);
      assert.equal(refused.code, "overloaded");
      assert.equal(refused.headers.get("retry-after"), "1", "when the run can be continued");
      assert.equal(refused.headers.get("x-should-retry"), "false", "a retry would start another run");
      assert.equal(sent.length, 1, "not retried");
      const runId = refused.headers.get("x-smolstep-run-id");
      assert.ok(runId);
      const kept = await app.api.get(`/v1/runs/${runId}`);
      assert.deepEqual([kept.body.status, kept.body.stepNumber], ["running", 1], "the run is at its last step");

      filled.release!();
      const continued = await app.api.post(`/v1/runs/${runId}/steps`);
      assert.equal(continued.status, 200, JSON.stringify(continued.body));
      assert.equal(continued.body.finalAnswer, "42");
    });

    await t.step("streaming: the response has started, so the refusal is the stream's error chunk", async () => {
      const filled = fillDuringFirstStep();
      const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "none", maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: "calc",
        messages: [{ role: "user", content: "6*7?" }],
        stream: true,
      });
      const failed = await (async () => {
        for await (const _chunk of stream);
      })().catch((e) => e);
      filled.release?.();
      assert.ok(failed instanceof OpenAI.APIError, String(failed));
      assert.match(failed.message, /maximum of 1 steps/);
    });
  } finally {
    await app.close();
  }
});
