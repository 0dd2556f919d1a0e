/**
 * The MCP server of the Deno entry (functions/deno.ts as its own process): a tool call is a background run on the
 * Deno KV queue, followed to its answer; SMOLSTEP_MCP_TOOLS=1 lists the agents' tools too, SMOLSTEP_MCP=0 removes
 * the endpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { startDenoEntry } from "../support/deno_entry.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { connect } from "./mcp_server_support.ts";

Deno.test("MCP server of the Deno entry: Deno KV queue runs, tool exposure by environment", async (t) => {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-mcp-" });
  const env = {
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "test-key",
    SMOLSTEP_MODEL: "scripted-model",
    SMOLSTEP_SECRET: "mcp-secret-0123456789abcdef",
    SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
  };
  let server = await startDenoEntry({ ...env, SMOLSTEP_MCP_TOOLS: "1" });
  try {
    await t.step("SMOLSTEP_MCP_TOOLS=1: agents and their tools; a call runs on the KV queue", async () => {
      const { client } = await connect(server.url);
      try {
        const names = (await client.listTools()).tools.map((tool: { name: string }) => tool.name);
        assert.deepEqual(names.slice(0, 3), ["assistant", "researcher", "coder"]);
        assert.ok(names.includes("calculator"), names.join(", "));
        model.reset();
        model.enqueue(
          toolCallReply("calculator", { expression: "2 ^ 10" }),
          toolCallReply("final_answer", { answer: "1024" }),
        );
        const result = await client.callTool({
          name: "assistant",
          arguments: { task: "2 to the 10th?" },
        }) as CallToolResult;
        assert.deepEqual(result.content, [{ type: "text", text: "1024" }]);
        assert.equal(result._meta?.["smolstep/mode"], "background");
        const sum = await client.callTool({ name: "calculator", arguments: { expression: "6 * 7" } }) as CallToolResult;
        assert.match((sum.content[0] as { text: string }).text, /42/);
      } finally {
        await client.close();
      }
    });

    await t.step("SMOLSTEP_MCP=0: no /mcp", async () => {
      await server.kill();
      server = await startDenoEntry({ ...env, SMOLSTEP_MCP: "0" });
      const response = await fetch(`${server.url}/mcp`, { method: "POST", body: "{}" });
      await response.body?.cancel();
      assert.equal(response.status, 404);
    });
  } finally {
    await server.kill();
    await model.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
