import assert from "node:assert/strict";
import { SpanStatusCode } from "@opentelemetry/api";
import { calculatorTool, OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, MemoryStore } from "../../lib/server.ts";
import { serveBackground } from "../support/background_app.ts";
import { apiClient } from "../support/http_client.ts";
import { kvFullRun, scriptCalculation, statelessFullRun } from "../support/run_scenarios.ts";
import { type ScriptedModelServer, startScriptedModelServer } from "../support/scripted_model_server.ts";
import { spanRecorder } from "../support/span_recorder.ts";

const SECRET = "http-spans-secret-0123456789";

function agents(server: ScriptedModelServer) {
  const model = new OpenAIServerModel({ modelId: "scripted-model", apiBase: server.url, apiKey: "k", maxRetries: 0 });
  return { assistant: new ToolCallingAgent({ name: "assistant", model, tools: [calculatorTool], maxSteps: 4 }) };
}

function serve(options: AppOptions) {
  const smolstep = createSmolstep(options);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  return { api: apiClient(`http://127.0.0.1:${server.addr.port}`), close: () => server.shutdown() };
}

Deno.test("the HTTP step routes produce the step spans, with the run id on KV steps", async (t) => {
  const recorder = spanRecorder();
  await using model = await startScriptedModelServer();
  const app = serve({
    agents: agents(model),
    store: new MemoryStore(),
    secret: SECRET,
    tracerProvider: recorder.provider,
  });
  try {
    await t.step("KV run: one invoke_agent span per step request, sharing the run id", async () => {
      const runId = await kvFullRun(app.api, model);
      const steps = recorder.named("invoke_agent assistant");
      assert.equal(steps.length, 2);
      for (const [i, step] of steps.entries()) {
        assert.equal(step.attributes["smolstep.run.id"], runId);
        assert.equal(step.attributes["gen_ai.conversation.id"], runId);
        assert.equal(step.attributes["smolstep.step.number"], i + 1);
        assert.deepEqual(recorder.childrenOf(step).map((s) => s.name), [
          "chat scripted-model",
          `execute_tool ${i ? "final_answer" : "calculator"}`,
        ]);
      }
      assert.equal(steps[1].attributes["smolstep.run.status"], "succeeded");
      recorder.reset();
    });

    await t.step("stateless run: the same spans, with no run id (a stateless run has none)", async () => {
      await statelessFullRun(app.api, model);
      const [first, second, refused] = recorder.named("invoke_agent assistant");
      for (const step of [first, second]) {
        assert.equal(step.status.code, SpanStatusCode.UNSET);
        assert.equal(step.attributes["smolstep.run.id"], undefined);
      }
      assert.equal(recorder.named("chat scripted-model").length, 2);
      // The finished token sent again: the agent refuses the ended state, and its span says so (the response's code).
      assert.equal(refused.status.code, SpanStatusCode.ERROR);
      assert.equal(refused.attributes["error.type"], "run_finished");
      assert.deepEqual(recorder.childrenOf(refused), []);
      recorder.reset();
    });

    await t.step(
      "a failed model call: the step span is failed, the response a 502/503 with the same code",
      async () => {
        model.enqueue({ status: 500, error: "upstream down" });
        const created = await app.api.post("/v1/agents/assistant/runs", { task: "x" });
        const failed = await app.api.post(`/v1/runs/${created.body.runId}/steps`);
        assert.ok(failed.status >= 500, JSON.stringify(failed.body));
        const [step] = recorder.named("invoke_agent assistant");
        assert.equal(step.status.code, SpanStatusCode.ERROR);
        assert.equal(step.attributes["error.type"], failed.body.error.code);
        assert.equal(recorder.childrenOf(step)[0].status.code, SpanStatusCode.ERROR);
        recorder.reset();
      },
    );
  } finally {
    await app.close();
    await recorder.shutdown();
  }
});

Deno.test("background steps carry the run id too", async () => {
  const recorder = spanRecorder();
  await using model = await startScriptedModelServer();
  const app = serveBackground({ agents: agents(model), store: new MemoryStore(), tracerProvider: recorder.provider });
  try {
    scriptCalculation(model);
    const created = await app.api.post("/v1/agents/assistant/runs", { task: "What is 6 times 7?", background: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await app.queue.idle();
    const steps = recorder.named("invoke_agent assistant");
    assert.equal(steps.length, 2);
    assert.deepEqual(steps.map((s) => s.attributes["smolstep.run.id"]), [created.body.runId, created.body.runId]);
  } finally {
    await app.close();
    await recorder.shutdown();
  }
});
