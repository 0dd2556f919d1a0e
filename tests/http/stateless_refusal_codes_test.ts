/**
 * A step or an input the run cannot take is refused with the same code in stateless mode as in KV mode (409
 * `run_finished`, 409 `not_awaiting_input`), and the message names the route that takes the run on. Real server
 * over loopback, real Deno KV (the token ledger), the scripted model, and the typed client.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { createClient, SmolstepClientError } from "../../lib/client.ts";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "stateless-refusal-codes-0123456789";

Deno.test("stateless refusals answer KV mode's codes: run_finished, not_awaiting_input", async (t) => {
  await using model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const transfer = tool({
    name: "transfer",
    description: "Sends money.",
    inputs: z.object({ to: z.string() }),
    needsApproval: true,
    run: ({ to }) => Promise.resolve(`sent to ${to}`),
  });
  const agents = { bank: new ToolCallingAgent({ name: "bank", model: openai, tools: [transfer] }) };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createApp({ agents, store: new DenoKvStore(kv), secret: SECRET }).fetch,
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base);
  const refusal = (response: { status: number; body: { error?: { code: string; message: string } } }) => [
    response.status,
    response.body.error?.code,
  ];
  try {
    // The same run in both modes: a transfer that needs approval (a pause), then the final answer.
    const created = await api.post("/v1/agents/bank/runs", { task: "pay bob", stateless: true });
    const running = created.body.state as string;
    const kvRun = (await api.post("/v1/agents/bank/runs", { task: "pay bob" })).body.runId as string;

    await t.step("input for a running run: not_awaiting_input, naming the step route", async () => {
      const kvInput = await api.post(`/v1/runs/${kvRun}/input`, { approve: true });
      assert.deepEqual(refusal(kvInput), [409, "not_awaiting_input"]);
      const input = await api.post("/v1/agents/bank/input", { state: running, approve: true });
      assert.deepEqual(refusal(input), [409, "not_awaiting_input"], JSON.stringify(input.body));
      assert.match(input.body.error.message, /'running', not waiting for input\. .*POST \/v1\/agents\/bank\/steps/);
      assert.equal(model.requests.length, 0, "no model call");
    });

    let paused = "";
    await t.step("a step on a paused run: not_awaiting_input, naming the input route", async () => {
      // The refused token was not used up: it steps.
      model.enqueue(toolCallReply("transfer", { to: "bob" }));
      const step = await api.post("/v1/agents/bank/steps", { state: running });
      assert.equal(step.status, 200, JSON.stringify(step.body));
      assert.equal(step.body.status, "awaiting_input");
      paused = step.body.state;
      model.enqueue(toolCallReply("transfer", { to: "bob" }));
      assert.equal((await api.post(`/v1/runs/${kvRun}/steps`)).body.status, "awaiting_input");

      const kvStep = await api.post(`/v1/runs/${kvRun}/steps`);
      assert.deepEqual(refusal(kvStep), [409, "not_awaiting_input"]);
      assert.match(kvStep.body.error.message, new RegExp(`POST /v1/runs/${kvRun}/input`));
      const again = await api.post("/v1/agents/bank/steps", { state: paused });
      assert.deepEqual(refusal(again), [409, "not_awaiting_input"], JSON.stringify(again.body));
      assert.match(again.body.error.message, /waiting for input.*POST \/v1\/agents\/bank\/input/);
    });

    let ended = "";
    await t.step("the paused token still takes its input (the refusal used nothing up)", async () => {
      const answered = await api.post("/v1/agents/bank/input", { state: paused, approve: true });
      assert.equal(answered.status, 200, JSON.stringify(answered.body));
      assert.equal(answered.body.status, "running");
      model.enqueue(toolCallReply("final_answer", { answer: "paid" }));
      const last = await api.post("/v1/agents/bank/steps", { state: answered.body.state });
      assert.deepEqual([last.body.status, last.body.finalAnswer], ["succeeded", "paid"]);
      ended = last.body.state;
      model.enqueue(toolCallReply("final_answer", { answer: "paid" }));
      await api.post(`/v1/runs/${kvRun}/input`, { approve: true });
      assert.equal((await api.post(`/v1/runs/${kvRun}/steps`)).body.status, "succeeded");
    });

    await t.step("a step on an ended run: run_finished, as in KV mode", async () => {
      const calls = model.requests.length;
      const kvStep = await api.post(`/v1/runs/${kvRun}/steps`);
      assert.deepEqual(refusal(kvStep), [409, "run_finished"]);
      const step = await api.post("/v1/agents/bank/steps", { state: ended });
      assert.deepEqual(refusal(step), [409, "run_finished"], JSON.stringify(step.body));
      assert.match(step.body.error.message, /ended with status 'succeeded'/);
      assert.equal(model.requests.length, calls, "no model call");
    });

    await t.step("input for an ended run: not_awaiting_input, as in KV mode", async () => {
      const kvInput = await api.post(`/v1/runs/${kvRun}/input`, { approve: true });
      assert.deepEqual(refusal(kvInput), [409, "not_awaiting_input"]);
      const input = await api.post("/v1/agents/bank/input", { state: ended, approve: true });
      assert.deepEqual(refusal(input), [409, "not_awaiting_input"], JSON.stringify(input.body));
      assert.match(input.body.error.message, /'succeeded', not waiting for input\.$/);
    });

    await t.step("the typed client sees the same codes", async () => {
      const client = createClient({ baseUrl: base });
      const isCode = (code: string) => (e: Error) => e instanceof SmolstepClientError && e.code === code;
      await assert.rejects(client.statelessStep("bank", ended), isCode("run_finished"));
      await assert.rejects(client.statelessInput("bank", ended, { approve: true }), isCode("not_awaiting_input"));
    });
  } finally {
    await server.shutdown();
    kv.close();
  }
});
