import assert from "node:assert/strict";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { mcpServer, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { callThenLeave, connect, helperAgents, PNG, serveApp, statusWithin5s } from "./mcp_server_support.ts";

const API_KEY = "mcp-server-key";
const MCP_HEADERS = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
};

/** POSTs a raw body to `/mcp`; the JSON answer (or null) and the status. */
async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body });
  const type = response.headers.get("Content-Type") ?? "";
  let text = await response.text();
  // An SSE answer: the data of its last event.
  if (type.startsWith("text/event-stream")) text = text.match(/^data: (.*)$/gm)?.at(-1)?.slice(6) ?? "";
  return { status: response.status, type, body: text ? JSON.parse(text) : null };
}

Deno.test("MCP server: background runs followed to their answer, auth, Origin, JSON-RPC errors, tool exposure", async (t) => {
  const model = await startScriptedModelServer();
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kv = await Deno.openKv(path);
  const store = new DenoKvStore(kv);
  const background = serveApp({
    agents: helperAgents(model),
    store,
    background: true,
    apiKeys: [API_KEY],
    events: { pollMs: 20 },
    cors: { origin: ["https://host.example"] },
    plugins: [mcpServer({ exposeTools: true, instructions: "Ask the helper." })],
  });
  const bare = serveApp({ agents: helperAgents(model), plugins: [mcpServer()] }); // no store: runs in memory
  const auth = { Authorization: `Bearer ${API_KEY}` };
  const clients: { close(): Promise<void> }[] = [];
  try {
    await t.step("401 without the API key (the SDK client fails to connect), connects with it", async () => {
      await assert.rejects(connect(background.url), /401|Unauthorized/i);
      assert.equal((await post(background.url, JSON.stringify(INITIALIZE))).status, 401);
      const { client } = await connect(background.url, auth);
      clients.push(client);
      assert.equal(client.getInstructions(), "Ask the helper.");
    });

    await t.step("background: the tool call starts a queued run and follows it, with progress", async () => {
      model.reset();
      model.enqueue(toolCallReply("add", { a: 1, b: 1 }), toolCallReply("final_answer", { answer: "two" }));
      const { client } = await connect(background.url, auth);
      clients.push(client);
      const progress: number[] = [];
      const result = await client.callTool({ name: "helper", arguments: { task: "1 + 1?" } }, undefined, {
        onprogress: (p: { progress: number }) => void progress.push(p.progress),
      }) as CallToolResult;
      assert.deepEqual(result.content, [{ type: "text", text: "two" }]);
      assert.equal(result._meta?.["smolstep/mode"], "background");
      assert.ok(progress.length >= 2, JSON.stringify(progress));
      const run = await apiClient(background.url, { apiKey: API_KEY }).get(`/v1/runs/${result._meta?.[RUN_ID_META]}`);
      assert.equal(run.body.background, true);
      assert.equal(run.body.status, "succeeded");
    });

    await t.step("background: a run the model fails ends failed, as isError", async () => {
      model.reset();
      model.enqueue({ status: 401, error: "bad credentials" });
      const { client } = await connect(background.url, auth);
      clients.push(client);
      const result = await client.callTool({ name: "helper", arguments: { task: "x" } }) as CallToolResult;
      assert.equal(result.isError, true);
      assert.match((result.content[0] as { text: string }).text, /ended 'failed'.*bad credentials/);
    });

    await t.step("background: a caller that goes away has its run cancelled (onAbort: cancel)", async () => {
      model.reset();
      model.enqueue({ ...toolCallReply("add", { a: 1, b: 1 }), delayMs: 1_000 }, toolCallReply("final_answer", {}));
      const runId = await callThenLeave(background.url, auth);
      const status = await statusWithin5s(apiClient(background.url, { apiKey: API_KEY }), runId, "cancelled");
      assert.equal(status, "cancelled");
    });

    await t.step("a foreign Origin is refused (403), an Origin the cors option allows passes", async () => {
      const foreign = await post(background.url, JSON.stringify(INITIALIZE), {
        ...auth,
        Origin: "https://evil.example",
      });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.body.error.code, -32000);
      const allowed = await post(background.url, JSON.stringify(INITIALIZE), {
        ...auth,
        Origin: "https://host.example",
      });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.body.result.protocolVersion, "2025-06-18");
      // Without a cors option no browser Origin passes, not even the server's own host (DNS rebinding).
      const own = await post(bare.url, JSON.stringify(INITIALIZE), { Origin: bare.url });
      assert.equal(own.status, 403);
    });

    await t.step("bad JSON and bad JSON-RPC are JSON-RPC errors, never a crash", async () => {
      const notJson = await post(bare.url, "{");
      assert.deepEqual([notJson.status, notJson.body.error.code, notJson.body.id], [400, -32700, null]);
      const notRpc = await post(bare.url, JSON.stringify({ hello: "world" }));
      assert.deepEqual([notRpc.status, notRpc.body.error.code], [400, -32700]);
      const unknown = await post(bare.url, JSON.stringify({ jsonrpc: "2.0", id: 7, method: "resources/list" }));
      assert.deepEqual([unknown.status, unknown.body.id, unknown.body.error.code], [200, 7, -32601]);
      const badParams = await post(
        bare.url,
        JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/call", params: {} }),
      );
      assert.equal(badParams.status, 200);
      assert.match(badParams.type, /text\/event-stream/); // tools/call answers as SSE
      assert.deepEqual([badParams.body.id, badParams.body.error.code], [8, -32602]);
      const deep = await post(bare.url, "[".repeat(100_000));
      assert.deepEqual([deep.status, deep.body.error.code], [400, -32700]);
      const huge = await post(bare.url, JSON.stringify({ ...INITIALIZE, padding: "x".repeat(1024 * 1024) }));
      assert.deepEqual([huge.status, huge.body.jsonrpc], [413, "2.0"]);
      const text = await post(bare.url, JSON.stringify(INITIALIZE), { "Content-Type": "text/plain" });
      assert.equal(text.status, 415);
      const notification = await post(
        bare.url,
        JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      );
      assert.equal(notification.status, 202);
      for (const method of ["GET", "DELETE"]) {
        const response = await fetch(`${bare.url}/mcp`, { method, headers: { Accept: "text/event-stream" } });
        assert.equal(response.status, 405, method);
        assert.equal(response.headers.get("Allow"), "POST");
        assert.equal((await response.json()).jsonrpc, "2.0");
      }
    });

    await t.step(
      "exposeTools: the agents' tools that allow direct calls, run as POST /v1/tools runs them",
      async () => {
        const { client } = await connect(background.url, auth);
        clients.push(client);
        const { tools } = await client.listTools();
        assert.deepEqual(tools.map((tool: { name: string }) => tool.name), ["helper", "add", "draw"]); // not secret_op
        const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } }) as CallToolResult;
        assert.deepEqual(sum.content, [{ type: "text", text: "42" }]);
        const image = await client.callTool({ name: "draw", arguments: {} }) as CallToolResult;
        const [png] = image.content as { type: string; data: string; mimeType: string }[];
        assert.deepEqual([png.type, png.mimeType], ["image", "image/png"]);
        assert.deepEqual(Uint8Array.from(atob(png.data), (c) => c.charCodeAt(0)), PNG);
        const invalid = await client.callTool({ name: "add", arguments: { a: "two" } }) as CallToolResult;
        assert.equal(invalid.isError, true);
        await assert.rejects(client.callTool({ name: "secret_op", arguments: {} }), /Unknown tool: secret_op/);
      },
    );

    await t.step(
      "without exposeTools the tools stay hidden; without a store the run is stepped in memory",
      async () => {
        model.reset();
        model.enqueue(toolCallReply("final_answer", { answer: "in memory" }));
        const { client } = await connect(bare.url);
        clients.push(client);
        assert.deepEqual((await client.listTools()).tools.map((tool: { name: string }) => tool.name), ["helper"]);
        await assert.rejects(client.callTool({ name: "add", arguments: { a: 1, b: 2 } }), /Unknown tool: add/);
        const result = await client.callTool({ name: "helper", arguments: { task: "hi" } }) as CallToolResult;
        assert.deepEqual(result.content, [{ type: "text", text: "in memory" }]);
        assert.deepEqual(result._meta, { "smolstep/status": "succeeded", "smolstep/mode": "memory" });
        model.enqueue({ status: 400, error: "the model refuses" });
        const failed = await client.callTool({ name: "helper", arguments: { task: "fail" } }) as CallToolResult;
        assert.equal(failed.isError, true);
        assert.match((failed.content[0] as { text: string }).text, /The agent could not run: .*refuses/);
        assert.deepEqual(failed._meta, { "smolstep/mode": "memory" }, "no run id: nothing to continue");
      },
    );
  } finally {
    for (const client of clients) await client.close();
    await background.close();
    await bare.close();
    kv.close();
    await model.close();
    await Deno.remove(path).catch(() => {});
  }
});
