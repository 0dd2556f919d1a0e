/**
 * The MCP server of the Workers entry (functions/worker.ts, wrangler.toml) under `wrangler dev`, driven by the
 * official SDK client: there a tool call is a background run on the STEPS queue (Durable Object store), followed to
 * its answer by the request.
 */
import assert from "node:assert/strict";
import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { IDEMPOTENCY_KEY_META, RUN_ID_META } from "../../lib/mcp/server/mod.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { startExampleWorker } from "../support/wrangler_dev.ts";
import { callAssistantThroughProxy, connect } from "./mcp_server_support.ts";

Deno.test("MCP server of the Workers entry under wrangler dev: list, call and resume through the SDK client", async (t) => {
  const model = await startScriptedModelServer();
  const worker = await startExampleWorker(model.url);
  const auth = { Authorization: "Bearer worker-key" };
  let close = async () => {};
  try {
    await t.step("401 without the key; with it, the example agents are the tools", async () => {
      await assert.rejects(connect(worker.url), /401|Unauthorized/i);
      const { client } = await connect(worker.url, auth);
      close = () => client.close();
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool: { name: string }) => tool.name), ["assistant", "researcher", "coder"]);
    });

    await t.step("tools/call: a two-step background run in workerd, progress per step, the answer", async () => {
      model.reset();
      model.enqueue(
        toolCallReply("calculator", { expression: "6 * 7" }),
        toolCallReply("final_answer", { answer: "42" }),
      );
      const { client } = await connect(worker.url, auth);
      const previous = close;
      close = async () => (await previous(), await client.close());
      const progress: number[] = [];
      const result = await client.callTool({ name: "assistant", arguments: { task: "6 times 7?" } }, undefined, {
        onprogress: (p: { progress: number }) => void progress.push(p.progress),
      }) as CallToolResult;
      assert.deepEqual(result.content, [{ type: "text", text: "42" }], JSON.stringify(result));
      assert.equal(result._meta?.["smolstep/mode"], "background");
      assert.ok(progress.length >= 2, JSON.stringify(progress));
      const run = await apiClient(worker.url, { apiKey: "worker-key" }).get(
        `/v1/runs/${result._meta?.["smolstep/runId"]}`,
      );
      assert.equal(run.body.status, "succeeded");
      assert.equal(run.body.steps.length, 4, JSON.stringify(run.body.steps.map((s: { type: string }) => s.type)));
    });

    await t.step("a dropped tools/call stream: the SDK client resumes it (GET + Last-Event-ID), one run", async () => {
      model.reset();
      model.enqueue(
        toolCallReply("calculator", { expression: "6 * 7" }),
        { ...toolCallReply("final_answer", { answer: "42" }), delayMs: 500 },
      );
      // Cut after the first step's progress notification, while the run goes on on the STEPS queue.
      const cut = (event: string) => /"progress":1\b/.test(event);
      const { result, progress, requests } = await callAssistantThroughProxy(worker.url, auth, cut, 20_000);
      assert.deepEqual(result.content, [{ type: "text", text: "42" }], JSON.stringify(result));
      assert.deepEqual(progress, progress.map((_, i) => i), JSON.stringify(progress));
      const resumed = requests.filter((request) => request.method === "GET" && request.lastEventId);
      assert.equal(resumed.at(-1)?.status, 200, JSON.stringify(requests));
      assert.equal(model.requests.length, 2, "one run, two model calls");
    });

    await t.step(
      "a keyed tools/call sent again after the SDK's timeout answers from the first run, one run",
      async () => {
        model.reset();
        model.enqueue({ ...toolCallReply("final_answer", { answer: "42" }), delayMs: 1_500 });
        const { client } = await connect(worker.url, auth);
        const previous = close;
        close = async () => (await previous(), await client.close());
        const params = {
          name: "assistant",
          arguments: { task: "6 times 7?" },
          _meta: { [IDEMPOTENCY_KEY_META]: "w-1" },
        };
        let firstRun: unknown;
        await assert.rejects(
          client.callTool(params, undefined, {
            timeout: 700,
            onprogress: (p: { _meta?: Record<string, unknown> }) => void (firstRun ??= p._meta?.[RUN_ID_META]),
          }),
          (error) => error instanceof McpError && (error as McpError).code === ErrorCode.RequestTimeout,
        );
        const result = await client.callTool(params, undefined, { timeout: 20_000 }) as CallToolResult;
        assert.deepEqual(result.content, [{ type: "text", text: "42" }], JSON.stringify(result));
        assert.ok(firstRun, "the first call named its run before the client gave up");
        assert.equal(result._meta?.[RUN_ID_META], firstRun);
        assert.equal(model.requests.length, 1, "one run, one model call");
      },
    );
  } finally {
    await close();
    await worker.close();
    await model.close();
  }
});
