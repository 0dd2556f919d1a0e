import assert from "node:assert/strict";
import { createClient, SmolstepClientError, type StreamStepEvent } from "../lib/client.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../lib/server.ts";
import { calculatorTool } from "../lib/tools/calculator_tool.ts";
import { deleteFileTool } from "./support/approval_tools.ts";
import { startScriptedModelServer, toolCallReply } from "./support/scripted_model_server.ts";
import { slowTool } from "./support/slow_tool.ts";

const ASK = { content: "Let me compute.", toolCalls: [{ name: "calculator", arguments: { expression: "6 * 7" } }] };

async function collect(events: AsyncGenerator<StreamStepEvent, unknown>) {
  const seen: StreamStepEvent[] = [];
  let next = await events.next();
  while (!next.done) {
    seen.push(next.value);
    next = await events.next();
  }
  return { seen, returned: next.value };
}

Deno.test("client: streamStep yields deltas, then the step response, for KV and stateless runs", async (t) => {
  await using model = await startScriptedModelServer();
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const agents = {
    calc: new ToolCallingAgent({
      name: "calc",
      model: openai,
      tools: [calculatorTool, deleteFileTool(), slowTool(1_000)],
    }),
  };
  const smolstep = createSmolstep({
    agents,
    store: new MemoryStore(),
    secret: "client-stream-secret-0123456789",
    stepTimeoutMs: 300,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const client = createClient({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
  try {
    await t.step(
      "KV: deltas, then {type: step} as the last item and the return value; a replay has no deltas",
      async () => {
        const { runId } = await client.startRun("calc", { task: "6*7?" });
        model.enqueue(ASK);
        const { seen, returned } = await collect(client.streamStep(runId, { idempotencyKey: "s1" }));
        const deltas = seen.filter((e) => e.type === "delta");
        assert.ok(deltas.length > 2);
        assert.equal(deltas.map((e) => e.type === "delta" ? e.text ?? "" : "").join(""), "Let me compute.");
        const last = seen.at(-1)!;
        assert.equal(last.type, "step");
        assert.equal(last.type === "step" && last.response, returned);
        const response = returned as Awaited<ReturnType<typeof client.step>>;
        assert.equal(response.replayed, false);
        assert.equal(response.runId, runId);
        assert.equal(response.stepNumber, 1);
        const replay = await collect(client.streamStep(runId, { idempotencyKey: "s1" }));
        assert.deepEqual(replay.seen.map((e) => e.type), ["step"]);
        assert.deepEqual(replay.returned, { ...response, replayed: true });
        assert.deepEqual(await client.step(runId, { idempotencyKey: "s1" }), { ...response, replayed: true });
      },
    );

    await t.step("KV input, stateless step and stateless input", async () => {
      const { runId } = await client.startRun("calc", { task: "pay bob" });
      model.enqueue(toolCallReply("delete_file", { path: "bob" }));
      assert.equal((await client.step(runId)).status, "awaiting_input");
      const input = await collect(client.streamStep(runId, { input: { approve: true } }));
      assert.equal((input.returned as { status: string }).status, "running");
      assert.equal((input.returned as { stepNumber: number }).stepNumber, 1);

      const { state } = await client.startStatelessRun("calc", { task: "pay bob" });
      model.enqueue(toolCallReply("delete_file", { path: "bob" }));
      const paused = await collect(client.streamStep({ agent: "calc", state }));
      assert.ok(paused.seen.some((e) => e.type === "delta" && e.toolCall?.name === "delete_file"));
      const pausedStep = paused.returned as { status: string; state: string };
      assert.equal(pausedStep.status, "awaiting_input");
      const resumed = await collect(
        client.streamStep({ agent: "calc", state: pausedStep.state }, { input: { approve: true } }),
      );
      assert.equal((resumed.returned as { status: string }).status, "running");
      await assert.rejects(
        collect(client.streamStep({ agent: "calc", state })),
        (error) => error instanceof SmolstepClientError && error.status === 409 && error.code === "token_replayed",
      );
    });

    await t.step("an error event after deltas is thrown with its code; the run is unchanged", async () => {
      const { runId } = await client.startRun("calc", { task: "wait" });
      model.enqueue({ content: "Waiting.", toolCalls: [{ name: "slow", arguments: {} }] });
      const deltas: StreamStepEvent[] = [];
      await assert.rejects(
        (async () => {
          for await (const event of client.streamStep(runId)) deltas.push(event);
        })(),
        (error) =>
          error instanceof SmolstepClientError && error.code === "step_timeout" && error.retryable &&
          error.status === 200,
      );
      assert.ok(deltas.length > 0 && deltas.every((e) => e.type === "delta"));
      assert.equal((await client.getRun(runId)).stepNumber, 0);
    });
  } finally {
    await server.shutdown();
  }
});
