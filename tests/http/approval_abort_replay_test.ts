/**
 * Attack on "an approved tool call cannot be run twice by replaying the approval": the client approves, and leaves
 * once the approved call has done its side effect (its step's signal then aborts the call's slow remainder). An
 * abandoned step frees its token for a retry, so if leaving here counted as abandoning the step, replaying the
 * approval would run the call again. It does not: the call's end is the step's observation, the token is used.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { until } from "../support/until.ts";

Deno.test("attack: approving, then leaving once the approved call has run, does not free the token for a second run", async () => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const sent: string[] = [];
  const transfer = tool({
    name: "transfer",
    description: "Sends money.",
    inputs: z.object({ to: z.string() }),
    needsApproval: true,
    run: async ({ to }, context) => {
      sent.push(to); // the side effect, done at once
      // then a slow confirmation that honours the step's signal
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 300);
        context?.signal?.addEventListener("abort", () => (clearTimeout(timer), reject(context.signal!.reason)));
      });
      return `sent to ${to}`;
    },
  });
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const app = createApp({
    agents: { bank: new ToolCallingAgent({ name: "bank", model: openai, tools: [transfer] }) },
    store: new DenoKvStore(kv),
    secret: "abort-replay-secret-0123456789",
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(url);
  try {
    model.enqueue(toolCallReply("transfer", { to: "mallory" }));
    const created = await api.post("/v1/agents/bank/runs", { task: "pay mallory", stateless: true });
    const paused = await api.post("/v1/agents/bank/steps", { state: created.body.state });
    assert.equal(paused.body.status, "awaiting_input");
    const leave = new AbortController();
    const approving = fetch(`${url}/v1/agents/bank/input`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ state: paused.body.state, approve: true }),
      signal: leave.signal,
    }).catch(() => "left");
    await until(() => sent.length === 1, "the approved call ran");
    leave.abort();
    assert.equal(await approving, "left");
    await new Promise((resolve) => setTimeout(resolve, 500)); // the abandoned step ends
    const replayed = await api.post("/v1/agents/bank/input", { state: paused.body.state, approve: true });
    assert.deepEqual(sent, ["mallory"], "the approved call ran once");
    assert.deepEqual([replayed.status, replayed.body.error?.code], [409, "token_replayed"]);
  } finally {
    await server.shutdown();
    kv.close();
    await model.close();
  }
});
