import assert from "node:assert/strict";
import { z } from "zod";
import { createClient, SmolstepClientError, type StreamStepEvent } from "../../lib/client.ts";
import { calculatorTool, OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "stateless-first-step-secret-0123456789";

function agents(model: ScriptedModelServer) {
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const pay = tool({
    name: "pay",
    description: "Pays someone.",
    inputs: z.object({ to: z.string() }),
    needsApproval: true,
    run: ({ to }) => `paid ${to}`,
  });
  return {
    calc: new ToolCallingAgent({ name: "calc", model: openai, tools: [calculatorTool] }),
    bank: new ToolCallingAgent({ name: "bank", model: openai, tools: [pay] }),
  };
}

function serve(options: AppOptions) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createApp(options).fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, api: apiClient(url), close: () => server.shutdown() };
}

/** Every key the store holds. */
async function keys(kv: Deno.Kv): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of kv.list({ prefix: [] })) found.push(entry.key.map(String).join("/"));
  return found;
}

Deno.test("a stateless run's first step from its task, in one request (real Deno KV)", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const { url, api, close } = serve({ agents: agents(model), store: new DenoKvStore(kv), secret: SECRET });
  try {
    await t.step(
      "POST /steps with a task takes the first step and returns the next token; the run goes on",
      async () => {
        model.enqueue(toolCallReply("calculator", { expression: "6 * 7" }));
        const first = await api.post("/v1/agents/calc/steps", { task: "What is 6 * 7?", maxSteps: 5 });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.deepEqual([first.body.agent, first.body.status, first.body.stepNumber], ["calc", "running", 1]);
        assert.equal(first.body.step.observations, "42");
        assert.equal(model.requests.length, 1, "one model call");
        const userMessages = JSON.stringify(model.requests[0].body.messages);
        assert.match(userMessages, /What is 6 \* 7\?/, "the model saw the task");
        assert.deepEqual(await keys(kv), [], "nothing is kept for a first step");

        model.enqueue(toolCallReply("final_answer", { answer: "42" }));
        const last = await api.post("/v1/agents/calc/steps", { state: first.body.state });
        assert.equal(last.status, 200, JSON.stringify(last.body));
        assert.deepEqual([last.body.status, last.body.finalAnswer], ["succeeded", "42"]);
        // The token the first step returned steps once, like every token.
        const replayed = await api.post("/v1/agents/calc/steps", { state: first.body.state });
        assert.deepEqual([replayed.status, replayed.body.error.code], [409, "token_replayed"]);
      },
    );

    await t.step("maxSteps from the first step's body holds for the run", async () => {
      model.reset();
      model.enqueue(toolCallReply("calculator", { expression: "1 + 1" }));
      const first = await api.post("/v1/agents/calc/steps", { task: "loop", maxSteps: 1 });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      // The step after the last one allowed asks for the final answer from memory, as smolagents does.
      model.enqueue("It is 2.");
      const last = await api.post("/v1/agents/calc/steps", { state: first.body.state });
      assert.equal(last.status, 200, JSON.stringify(last.body));
      assert.deepEqual([last.body.status, last.body.finalAnswer], ["max_steps_error", "It is 2."]);
    });

    await t.step("a body with neither or both of state and task is a 400 naming them; nothing runs", async () => {
      model.reset();
      for (const body of [{}, { state: "x", task: "y" }, { task: "t", stateless: true }, { task: "" }]) {
        const refused = await api.post("/v1/agents/calc/steps", body);
        assert.deepEqual([refused.status, refused.body.error.code], [400, "invalid_request"], JSON.stringify(body));
      }
      const neither = await api.post("/v1/agents/calc/steps", {});
      assert.match(neither.body.error.message, /either state .* or task/);
      assert.equal(model.requests.length, 0);
    });

    await t.step("attack: an image URL the egress guard refuses is a 400 before the model is asked", async () => {
      model.reset();
      const refused = await api.post("/v1/agents/calc/steps", {
        task: "describe",
        images: ["https://127.0.0.1/secret.png"],
      });
      assert.deepEqual([refused.status, refused.body.error.code], [400, "url_not_allowed"]);
      assert.equal(model.requests.length, 0);
    });

    await t.step("a first step that fails keeps nothing and answers the model's error", async () => {
      model.reset();
      const before = await keys(kv);
      model.enqueue({ status: 500 });
      const failed = await api.post("/v1/agents/calc/steps", { task: "fail" });
      assert.deepEqual([failed.status, failed.body.error.code], [502, "model_error"]);
      assert.equal(model.requests.length, 1);
      assert.deepEqual(await keys(kv), before);
    });

    await t.step("the typed client: statelessStep with a task, and streamStep from a task", async () => {
      model.reset();
      const client = createClient({ baseUrl: url });
      model.enqueue(toolCallReply("calculator", { expression: "2 + 3" }));
      const first = await client.statelessStep("calc", { task: "What is 2 + 3?" });
      assert.equal(first.status, "running");
      assert.equal(first.step && "observations" in first.step ? first.step.observations : undefined, "5");
      model.enqueue(toolCallReply("final_answer", { answer: "5" }));
      const done = await client.statelessStep("calc", first.state);
      assert.deepEqual([done.status, done.finalAnswer], ["succeeded", "5"]);

      model.enqueue(toolCallReply("calculator", { expression: "3 + 4" }));
      const seen: StreamStepEvent[] = [];
      const stream = client.streamStep({ agent: "calc", start: { task: "What is 3 + 4?" } });
      for await (const event of stream) seen.push(event);
      assert.ok(seen.some((e) => e.type === "delta" && e.toolCall?.name === "calculator"), JSON.stringify(seen));
      const stepped = seen.at(-1);
      assert.equal(stepped?.type, "step");
      assert.equal((stepped as { response: { step: { observations: string } } }).response.step.observations, "7");
      await assert.rejects(
        client.statelessStep("calc", { task: "" }),
        (error) => error instanceof SmolstepClientError && error.status === 400,
      );
    });
  } finally {
    await close();
    kv.close();
    await model.close();
  }
});

Deno.test("a stateless first step keeps stateless mode's guards", async (t) => {
  const model = await startScriptedModelServer();
  try {
    await t.step("attack: without a store, an agent with an approval tool is refused before the model", async () => {
      const { api, close } = serve({ agents: agents(model), secret: SECRET });
      try {
        const refused = await api.post("/v1/agents/bank/steps", { task: "pay mallory" });
        assert.deepEqual([refused.status, refused.body.error.code], [403, "stateless_replay_unsafe"]);
        assert.equal(model.requests.length, 0);
      } finally {
        await close();
      }
    });

    await t.step("a task whose first token could not fit a request body is 413 before the model", async () => {
      const maxBodyBytes = 64 * 1024;
      const { api, close } = serve({ agents: agents(model), secret: SECRET, maxBodyBytes });
      try {
        const random = crypto.getRandomValues(new Uint8Array(40_000));
        const task = btoa(String.fromCharCode(...random)).slice(0, 50_000);
        const refused = await api.post("/v1/agents/calc/steps", { task });
        assert.deepEqual([refused.status, refused.body.error.code], [413, "task_too_large"]);
        assert.equal(model.requests.length, 0);
      } finally {
        await close();
      }
    });

    await t.step("without a secret, a first step is 501 stateless_not_configured", async () => {
      const { api, close } = serve({ agents: agents(model) });
      try {
        const refused = await api.post("/v1/agents/calc/steps", { task: "t" });
        assert.deepEqual([refused.status, refused.body.error.code], [501, "stateless_not_configured"]);
        assert.equal(model.requests.length, 0);
      } finally {
        await close();
      }
    });
  } finally {
    await model.close();
  }
});
