import assert from "node:assert/strict";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { eventIdKey, signEventId } from "../../lib/mcp/server/mcp_event_ids.ts";
import { mcpServer, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { startDropProxy } from "./mcp_drop_proxy.ts";
import { connect, helperAgents, serveApp } from "./mcp_server_support.ts";

/**
 * How a resumed tool call's stream (GET /mcp + Last-Event-ID, lib/mcp/server/mcp_resume.ts) ends, as the official SDK
 * client takes it: it counts only a result as the request's answer, and reconnects after any other end (every second,
 * without limit). A call that cannot go on is answered with an `isError` result (one GET); a call that may go on later
 * (the server at its most steps in flight) is closed and comes back. Through a loopback proxy that counts the GETs.
 */

const CALL_TIMEOUT_MS = 10_000;

async function oneInstance(maxStepsInFlight?: number) {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const app = serveApp({
    agents: helperAgents(model),
    store: new DenoKvStore(kv),
    maxStepsInFlight,
    plugins: [mcpServer()],
  });
  const proxy = startDropProxy({ post: app.url, get: app.url }, () => false);
  return {
    model,
    app,
    proxy,
    gets: () => proxy.requests.filter((request) => request.method === "GET" && request.lastEventId),
    /** The SDK client resuming, from `token`, a call it made earlier (a host that kept its resumption token). */
    async resume(token: string) {
      const { client } = await connect(proxy.url);
      try {
        // A JSON-RPC error (what the server answered before) rejects the request: kept, to count what followed.
        const result = await client.request(
          { method: "tools/call", params: { name: "helper", arguments: { task: "1 + 2?" } } },
          CallToolResultSchema,
          { resumptionToken: token, timeout: CALL_TIMEOUT_MS },
        ).catch((error: Error) => ({ content: [], rejected: error.message })) as CallToolResult & { rejected?: string };
        // Long enough for the SDK's reconnection after a stream that ended without a result (1 s).
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        return result;
      } finally {
        await client.close();
      }
    },
    async close() {
      await proxy.close();
      await app.close();
      kv.close();
      await model.close();
    },
  };
}

Deno.test("MCP resume end: a call whose run was never written gets an isError result, and the client stops", async () => {
  const env = await oneInstance();
  try {
    const token = await signEventId(
      { runId: crypto.randomUUID(), requestId: 7, progress: -1 },
      eventIdKey({}, undefined),
    );
    const result = await env.resume(token);
    // One GET: a JSON-RPC error instead made the client reconnect every second, each finding nothing again.
    assert.equal(env.gets().length, 1, JSON.stringify(env.proxy.requests));
    assert.equal(result.isError, true, JSON.stringify(result));
    assert.match(JSON.stringify(result.content), /was not found.*Call the tool again/);
  } finally {
    await env.close();
  }
});

Deno.test("MCP resume end: a call stepped in the request waits out the server's most steps in flight", async () => {
  const env = await oneInstance(1);
  const { model, app } = env;
  try {
    const api = apiClient(app.url);
    // The call's run, stored and still running (its POST went away before any step).
    const { body: call } = await api.post("/v1/agents/helper/runs", { task: "1 + 2?" });
    // Another run's step holds the server's one place for 2 s.
    model.enqueue({ ...toolCallReply("final_answer", { answer: "slow" }), delayMs: 2_000 });
    model.enqueue(toolCallReply("add", { a: 1, b: 2 }), toolCallReply("final_answer", { answer: "three" }));
    const { body: other } = await api.post("/v1/agents/helper/runs", { task: "slow" });
    const busy = api.post(`/v1/runs/${other.runId}/steps`);
    while (model.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));

    const token = await signEventId({ runId: call.runId, requestId: 3, progress: 0 }, eventIdKey({}, undefined));
    const result = await env.resume(token);
    // Its answer once the place was free (before: a final "maximum of 1 steps" isError the client kept).
    assert.deepEqual(result.content, [{ type: "text", text: "three" }], JSON.stringify(result));
    assert.equal(result._meta?.[RUN_ID_META], call.runId);
    assert.equal((await busy).status, 200);
    const gets = env.gets();
    assert.ok(gets.length >= 2, JSON.stringify(gets));
    assert.ok(gets.every((get) => get.lastEventId === token), JSON.stringify(gets));
  } finally {
    await env.close();
  }
});

Deno.test("MCP resume end: a resumed stream following a background run closes after events.maxDurationMs, and the client comes back", async () => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const app = serveApp({
    agents: helperAgents(model),
    store: new DenoKvStore(kv),
    background: true,
    lockTtlMs: 3_000,
    events: { pollMs: 20, maxDurationMs: 300 },
    plugins: [mcpServer()],
  });
  // The POST's stream is cut after progress 0; the run's first step takes 2.5 s.
  const proxy = startDropProxy({ post: app.url, get: app.url }, (event) => /"progress":0\b/.test(event));
  try {
    model.enqueue(
      { ...toolCallReply("add", { a: 1, b: 2 }), delayMs: 2_500 },
      toolCallReply("final_answer", { answer: "three" }),
    );
    const { client } = await connect(proxy.url);
    const progress: number[] = [];
    const result = await client.callTool({ name: "helper", arguments: { task: "1 + 2?" } }, undefined, {
      timeout: CALL_TIMEOUT_MS,
      onprogress: (p: { progress: number }) => void progress.push(p.progress),
    }) as CallToolResult;
    await client.close();
    assert.deepEqual(result.content, [{ type: "text", text: "three" }], JSON.stringify(result));
    assert.deepEqual(progress, progress.map((_, i) => i), "each progress once, in order");
    // Resumed more than once: each resumed stream lasted 300 ms (before: one stream to the end).
    const gets = proxy.requests.filter((request) => request.method === "GET" && request.lastEventId);
    assert.ok(gets.length >= 2, JSON.stringify(gets));
    assert.ok(gets.every((get) => get.status === 200), JSON.stringify(gets));
    assert.equal(model.requests.length, 2, "one run");
  } finally {
    await proxy.close();
    await app.close();
    kv.close();
    await model.close();
  }
});
