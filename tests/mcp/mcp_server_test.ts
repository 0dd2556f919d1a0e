import assert from "node:assert/strict";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { mcpServer, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { callThenLeave, connect, helperAgents, PNG, pngRef, serveApp, statusWithin5s } from "./mcp_server_support.ts";

/**
 * The MCP server (`/mcp`, lib/mcp/server/) driven by the official SDK client over loopback against the real app:
 * Deno KV runs, the scripted model server.
 */
Deno.test("MCP server: agents as tools over stateless Streamable HTTP, runs kept in Deno KV", async (t) => {
  const model = await startScriptedModelServer();
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  // Two app instances over two handles of one KV database: no session affinity anywhere.
  const kvs = [await Deno.openKv(path), await Deno.openKv(path)];
  const apps = kvs.map((kv) =>
    serveApp({ agents: helperAgents(model), store: new DenoKvStore(kv), plugins: [mcpServer()] })
  );
  const clients: { close(): Promise<void> }[] = [];
  const open = async (urls: string | string[]) => {
    const connected = await connect(urls);
    clients.push(connected.client);
    return connected;
  };
  try {
    await t.step("tools/list: each agent is a tool taking {task, additionalArgs?}", async () => {
      const { client } = await open(apps[0].url);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool: { name: string }) => tool.name), ["helper"]);
      assert.equal(tools[0].description, "Adds numbers and draws dots.");
      assert.deepEqual(tools[0].inputSchema.required, ["task"]);
      assert.deepEqual(Object.keys(tools[0].inputSchema.properties ?? {}), ["task", "additionalArgs"]);
      assert.equal(client.getServerVersion()?.name, "smolstep");
    });

    await t.step("tools/call runs the agent to its final answer, with a progress notification per step", async () => {
      model.reset();
      model.enqueue(toolCallReply("add", { a: 2, b: 3 }), toolCallReply("final_answer", { answer: "2 + 3 = 5" }));
      const { client } = await open(apps[0].url);
      const progress: { progress: number; message?: string; _meta?: unknown }[] = [];
      const result = await client.callTool(
        { name: "helper", arguments: { task: "What is 2 + 3?", additionalArgs: { unit: "apples" } } },
        undefined,
        { onprogress: (p: { progress: number; message?: string; _meta?: unknown }) => void progress.push(p) },
      ) as CallToolResult;
      assert.equal(result.isError, undefined, JSON.stringify(result));
      assert.deepEqual(result.content, [{ type: "text", text: "2 + 3 = 5" }]);
      assert.ok(progress.length >= 3, JSON.stringify(progress));
      // Progress 0 names the run before its first step; then one notification per step record.
      const runId = result._meta?.[RUN_ID_META] as string;
      assert.deepEqual(progress[0], { progress: 0, message: `Run ${runId} started`, _meta: { [RUN_ID_META]: runId } });
      assert.match(progress[1].message ?? "", /Step 1: add/);
      assert.deepEqual(progress.map((p) => p.progress), progress.map((_, i) => i));
      // The run is an ordinary KV run, readable over /v1 on the other instance.
      const run = await apiClient(apps[1].url).get(`/v1/runs/${runId}`);
      assert.equal(run.body.status, "succeeded");
      assert.equal(run.body.finalAnswer, "2 + 3 = 5");
      assert.match(JSON.stringify(model.requests[0].body.messages), /apples/);
    });

    await t.step("a structured answer is JSON text and structuredContent", async () => {
      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: { sum: 5, terms: [2, 3] } }));
      const { client } = await open(apps[0].url);
      const result = await client.callTool({ name: "helper", arguments: { task: "sum as JSON" } }) as CallToolResult;
      assert.deepEqual(result.structuredContent, { sum: 5, terms: [2, 3] });
      assert.deepEqual(JSON.parse((result.content[0] as { text: string }).text), { sum: 5, terms: [2, 3] });
    });

    await t.step("an image answer comes back as image content", async () => {
      model.reset();
      model.enqueue(toolCallReply("draw"), toolCallReply("final_answer", { answer: await pngRef() }));
      const { client } = await open(apps[0].url);
      const result = await client.callTool({ name: "helper", arguments: { task: "Draw a dot." } }) as CallToolResult;
      assert.equal(result.content.length, 1);
      const [image] = result.content as { type: string; data: string; mimeType: string }[];
      assert.equal(image.type, "image");
      assert.equal(image.mimeType, "image/png");
      assert.deepEqual(Uint8Array.from(atob(image.data), (c) => c.charCodeAt(0)), PNG);
    });

    // The contract changed deliberately: a step that throws in the request leaves the run exactly as it was (the
    // house rule for a failed step), so the run stays `running` and can be continued, instead of ending `failed`.
    await t.step(
      "a failing step is isError naming the run and how to continue it; the run stays as it was",
      async () => {
        model.reset();
        model.enqueue({ status: 400, error: "the model refuses" });
        const { client } = await open(apps[0].url);
        const result = await client.callTool({ name: "helper", arguments: { task: "fail" } }) as CallToolResult;
        assert.equal(result.isError, true);
        const runId = result._meta?.[RUN_ID_META] as string;
        assert.match(runId, /^[\w-]+$/);
        const text = (result.content[0] as { text: string }).text;
        assert.match(text, new RegExp(`run ${runId} failed: .*refuses`));
        assert.ok(text.includes(`POST /v1/runs/${runId}/steps`), text);
        const api = apiClient(apps[1].url);
        const run = await api.get(`/v1/runs/${runId}`);
        assert.equal(run.body.status, "running");
        assert.equal(run.body.steps.length, 1, "only the task: the failed step left nothing");
        model.enqueue(toolCallReply("final_answer", { answer: "after all" }));
        const continued = await api.post(`/v1/runs/${runId}/steps`, {});
        assert.equal(continued.status, 200);
        assert.equal(continued.body.status, "succeeded");
        assert.equal(continued.body.finalAnswer, "after all");
      },
    );

    await t.step("bad arguments and unknown tools: a tool error and a JSON-RPC error", async () => {
      const { client } = await open(apps[0].url);
      const empty = await client.callTool({ name: "helper", arguments: { task: "" } }) as CallToolResult;
      assert.equal(empty.isError, true);
      assert.match((empty.content[0] as { text: string }).text, /Invalid arguments: task: task must not be empty/);
      const extra = await client.callTool({ name: "helper", arguments: { task: "x", maxSteps: 99 } }) as CallToolResult;
      assert.equal(extra.isError, true);
      const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`a${i}`, i]));
      const tooMany = await client.callTool({ name: "helper", arguments: { task: "x", additionalArgs: many } });
      assert.match(JSON.stringify(tooMany.content), /at most 1000 additionalArgs/);
      await assert.rejects(client.callTool({ name: "add", arguments: { a: 1, b: 2 } }), /Unknown tool: add/);
    });

    await t.step("a caller that goes away mid-run: the step is abandoned and the run cancelled", async () => {
      model.reset();
      model.enqueue({ content: "too late", delayMs: 10_000 });
      const runId = await callThenLeave(apps[0].url);
      const status = await statusWithin5s(apiClient(apps[1].url), runId, "cancelled");
      assert.equal(status, "cancelled");
    });

    await t.step("two calls through two instances: one client, requests alternating, no session", async () => {
      model.reset();
      model.enqueue(
        toolCallReply("final_answer", { answer: "first" }),
        toolCallReply("final_answer", { answer: "second" }),
      );
      const { client, seen } = await open([apps[0].url, apps[1].url]);
      const first = await client.callTool({ name: "helper", arguments: { task: "one" } }) as CallToolResult;
      const second = await client.callTool({ name: "helper", arguments: { task: "two" } }) as CallToolResult;
      assert.deepEqual([first.content[0], second.content[0]], [
        { type: "text", text: "first" },
        { type: "text", text: "second" },
      ]);
      assert.ok(new Set(seen).size === 2, `both instances answered: ${seen.join(", ")}`);
      for (const [result, app] of [[first, apps[1]], [second, apps[0]]] as const) {
        const run = await apiClient(app.url).get(`/v1/runs/${result._meta?.[RUN_ID_META]}`);
        assert.equal(run.body.status, "succeeded");
      }
    });
  } finally {
    for (const client of clients) await client.close();
    for (const app of apps) await app.close();
    for (const kv of kvs) kv.close();
    await model.close();
    await Deno.remove(path).catch(() => {});
  }
});
