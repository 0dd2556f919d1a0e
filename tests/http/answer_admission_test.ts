/**
 * A full server and the front ends that run an agent to its answer in the request (no queue: the request steps a KV
 * run): the OpenAI-compatible endpoint and MCP `tools/call` are refused before a run is written, and OpenAI's
 * clients are told whether a retry is safe (`x-should-retry`) and when (`Retry-After`).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { mcpServer } from "../../lib/mcp/server/mod.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep } from "../../lib/server.ts";
import { kvSnapshot } from "../support/kv_snapshot.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { connect } from "../mcp/mcp_server_support.ts";

const chat = { model: "assistant", messages: [{ role: "user" as const, content: "hi" }] };

/** An OpenAI client with `maxRetries`, and the requests it sent. */
function countingClient(baseURL: string, maxRetries: number) {
  const sent: string[] = [];
  const client = new OpenAI({
    baseURL,
    apiKey: "none",
    maxRetries,
    fetch: (input, init) => (sent.push(String(input)), fetch(input, init)),
  });
  return { client, sent };
}

Deno.test("a full server (kv, no queue) refuses chat completions and MCP calls without writing a run", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const smolstep = createSmolstep({
    agents: { assistant: new ToolCallingAgent({ name: "assistant", model: openai, tools: [] }) },
    store: new DenoKvStore(kv),
    maxStepsInFlight: 1,
    plugins: [mcpServer()],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const mcp = await connect(url);
  let holder: Promise<unknown> | undefined;
  try {
    // One chat whose step waits on a slow model: the server's one place is taken.
    model.enqueue({ ...toolCallReply("final_answer", { answer: "slow" }), delayMs: 1500 });
    holder = countingClient(`${url}/v1`, 0).client.chat.completions.create(chat);
    while (model.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const before = await kvSnapshot(kv);

    await t.step("chat: 503 overloaded in OpenAI's shape, Retry-After, x-should-retry: true, no run", async () => {
      const { client, sent } = countingClient(`${url}/v1`, 0);
      const refused = await client.chat.completions.create(chat).catch((e) => e);
      assert.ok(refused instanceof OpenAI.APIError, String(refused));
      assert.equal(refused.status, 503);
      assert.equal(refused.code, "overloaded");
      assert.equal(refused.type, "server_error");
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal(refused.headers.get("x-should-retry"), "true");
      assert.equal(refused.headers.get("x-smolstep-run-id"), null);
      assert.equal(sent.length, 1);
      assert.deepEqual(await kvSnapshot(kv), before, "no run was written");
    });

    await t.step("chat, streaming: the same 503 before the stream starts, no run", async () => {
      const { client } = countingClient(`${url}/v1`, 0);
      const refused = await client.chat.completions.create({ ...chat, stream: true }).catch((e) => e);
      assert.ok(refused instanceof OpenAI.APIError, String(refused));
      assert.equal(refused.status, 503);
      assert.deepEqual(await kvSnapshot(kv), before, "no run was written");
    });

    await t.step("MCP tools/call: an error result, no run", async () => {
      const result = await mcp.client.callTool({ name: "assistant", arguments: { task: "hi" } });
      assert.equal(result.isError, true);
      assert.match(JSON.stringify(result.content), /maximum of 1 steps/);
      assert.equal(result._meta?.["smolstep/runId"], undefined);
      assert.deepEqual(await kvSnapshot(kv), before, "no run was written");
    });

    await t.step("the official client retries the 503 after Retry-After and gets its answer", async () => {
      model.enqueue(toolCallReply("final_answer", { answer: "after a wait" }));
      const { client, sent } = countingClient(`${url}/v1`, 5);
      const completion = await client.chat.completions.create(chat);
      assert.equal(completion.choices[0].message.content, "after a wait");
      assert.ok(sent.length >= 2, `retried (${sent.length} requests)`);
      assert.equal(model.requests.length, 2, "one step each: the refused requests reached no model");
      const held = await holder as OpenAI.ChatCompletion;
      assert.equal(held.choices[0].message.content, "slow");
    });

    await t.step("chat with an Idempotency-Key: the request sent again after its 503 runs", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("final_answer", { answer: "slow again" }), delayMs: 500 });
      holder = countingClient(`${url}/v1`, 0).client.chat.completions.create(chat);
      while (model.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const { client } = countingClient(`${url}/v1`, 0);
      const keyed = { headers: { "Idempotency-Key": "chat-refused-once" } };
      const refused = await client.chat.completions.create(chat, keyed).catch((e) => e);
      assert.equal(refused.status, 503, String(refused));
      await holder;
      // Not 409 request_in_progress: the refused request's claim on the key was given back with its place.
      model.enqueue(toolCallReply("final_answer", { answer: "keyed" }));
      const completion = await client.chat.completions.create(chat, keyed);
      assert.equal(completion.choices[0].message.content, "keyed");
    });
  } finally {
    await holder?.catch(() => {});
    await mcp.client.close();
    await server.shutdown();
    kv.close();
    await model.close();
  }
});

Deno.test("an error that a retry cannot mend (501 store_not_configured): x-should-retry: false, not retried", async () => {
  const model = await startScriptedModelServer();
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const app = createSmolstep({ agents: { assistant: new ToolCallingAgent({ model: openai, tools: [] }) } }).app;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    const { client, sent } = countingClient(`http://127.0.0.1:${server.addr.port}/v1`, 2);
    const refused = await client.chat.completions.create(chat).catch((e) => e);
    assert.ok(refused instanceof OpenAI.APIError, String(refused));
    assert.equal(refused.status, 501);
    assert.equal(refused.headers.get("x-should-retry"), "false");
    assert.equal(sent.length, 1, "not retried");
  } finally {
    await server.shutdown();
    await model.close();
  }
});
