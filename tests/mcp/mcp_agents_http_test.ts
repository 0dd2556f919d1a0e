import assert from "node:assert/strict";
import { CodeAgent, OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { ToolCollection } from "../../lib/mcp/mod.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { startHttpMcpServer } from "../support/mcp_servers.ts";

const SECRET = "mcp-agents-secret-0123456789abcdef";

/**
 * Agents with MCP tools over HTTP, through the real smolstep app. "A restart" is a new app with tools loaded again by
 * `fromMcp` after the old connection was closed and the MCP server ended every session: nothing but the tool's name
 * was kept in the run.
 */
Deno.test("agents use MCP tools over Streamable HTTP through the smolstep app, in KV and stateless mode", async (t) => {
  const mcp = startHttpMcpServer();
  const model = await startScriptedModelServer();
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kv = await Deno.openKv(path);
  const store = new DenoKvStore(kv);
  const executor = createDenoQuickJSExecutor({ timeLimitMs: 60_000 });
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const mcpServer = { url: mcp.url, egress: { allowPrivateNetwork: true } };

  async function boot() {
    const collection = await ToolCollection.fromMcp(mcpServer, { trustRemoteCode: true });
    const app = createApp({
      agents: {
        caller: new ToolCallingAgent({ name: "caller", model: openai, tools: collection.tools }),
        coder: new CodeAgent({ name: "coder", model: openai, tools: collection.tools, executor }),
      },
      store,
      secret: SECRET,
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    return { collection, server, api: apiClient(`http://127.0.0.1:${server.addr.port}`) };
  }

  let booted = await boot();
  async function restart() {
    await booted.collection.close();
    await booted.server.shutdown();
    await mcp.endSessions();
    booted = await boot();
  }

  try {
    await t.step("ToolCallingAgent, KV mode: calls the MCP tool, survives a restart, sees MCP errors", async () => {
      model.reset();
      model.enqueue(
        toolCallReply("weather_report", { city: "Oslo" }),
        toolCallReply("fail"),
        toolCallReply("final_answer", { answer: "done" }),
      );
      const { body: run } = await booted.api.post("/v1/agents/caller/runs", { task: "weather in Oslo?" });
      const first = await booted.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.step.error, null);
      assert.match(first.body.step.observations, /Sunny in Oslo, 21 c/);

      await restart();
      const stored = await store.get(`runs/${run.runId}`);
      assert.doesNotMatch(stored!.value, /mcp-session|127\.0\.0\.1:\d+\/mcp/, "the state only names the tool");

      const second = await booted.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(second.body.step.error.type, "AgentToolExecutionError");
      assert.match(second.body.step.error.message, /MCP tool 'fail' failed: the disk is full/);
      const done = await booted.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(done.body.finalAnswer, "done");
      assert.match(JSON.stringify(model.requests[2].body.messages), /the disk is full/, "the model saw the error");
      assert.deepEqual(mcp.calls.slice(-2).map((call) => call.name), ["weather-report", "fail"]);
    });

    await t.step(
      "ToolCallingAgent, stateless mode: the MCP call and its image result travel in the token",
      async () => {
        model.reset();
        model.enqueue(
          toolCallReply("add", { a: 19, b: 23 }),
          toolCallReply("snapshot"),
          toolCallReply("final_answer", { answer: "42" }),
        );
        const created = await booted.api.post("/v1/agents/caller/runs", { task: "add", stateless: true });
        const first = await booted.api.post("/v1/agents/caller/steps", { state: created.body.state });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.step.observations, "42");
        await restart();
        const second = await booted.api.post("/v1/agents/caller/steps", { state: first.body.state });
        assert.equal(second.status, 200, JSON.stringify(second.body));
        assert.equal(second.body.step.error, null);
        assert.match(JSON.stringify(second.body.step), /blob:sha256:[0-9a-f]{64}/, "the image is a stored blob");
        const done = await booted.api.post("/v1/agents/caller/steps", { state: second.body.state });
        assert.equal(done.body.finalAnswer, "42");
      },
    );

    await t.step("CodeAgent, KV mode: code calls the MCP tool as a function", async () => {
      model.reset();
      model.enqueue(
        "<code>\nconst sum = await add({ a: 2, b: 3 });\nconsole.log('sum is', sum);\n</code>",
        "<code>\nfinal_answer(await weather_report({ city: 'Paris', unit: 'f' }));\n</code>",
      );
      const { body: run } = await booted.api.post("/v1/agents/coder/runs", { task: "add 2 and 3" });
      const first = await booted.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.match(first.body.step.observations, /sum is 5/, JSON.stringify(first.body.step));
      await restart();
      const done = await booted.api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(done.body.finalAnswer, "Sunny in Paris, 21 f");
    });

    await t.step("CodeAgent, stateless mode: an MCP error reaches the code as a thrown error", async () => {
      model.reset();
      model.enqueue(
        "<code>\ntry { await fail({}); } catch (error) { console.log('caught:', error.message); }\n</code>",
        "<code>\nfinal_answer(await add({ a: 1, b: 1 }));\n</code>",
      );
      const created = await booted.api.post("/v1/agents/coder/runs", { task: "try", stateless: true });
      const first = await booted.api.post("/v1/agents/coder/steps", { state: created.body.state });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.match(first.body.step.observations, /caught:.*the disk is full/);
      const done = await booted.api.post("/v1/agents/coder/steps", { state: first.body.state });
      assert.equal(done.body.finalAnswer, "2");
    });
  } finally {
    await booted.collection.close();
    await booted.server.shutdown();
    await mcp.close();
    await model.close();
    kv.close();
    await Deno.remove(path).catch(() => {});
  }
});
