import { createAgents } from "../../functions/agents.ts";
import { createApp } from "../../lib/server.ts";
import { mcpServer } from "../../lib/mcp/server/mod.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "./http_client.ts";
import { startScriptedModelServer, toolCallReply } from "./scripted_model_server.ts";

/**
 * The attack tests' target: the example agents behind `apiKeys` on real Deno KV (in memory), every route on (MCP
 * with the agents' tools too), a scripted model whose every answer would end a run, and one KV run to aim at.
 * `concrete` turns a route table path into one this app serves.
 */
export async function serveAttackTarget(apiKeys: string[]) {
  const model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "should not run" }));
  const kv = await Deno.openKv(":memory:");
  const app = createApp({
    agents: createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    store: new DenoKvStore(kv),
    secret: "attack-target-secret-0123456789",
    apiKeys,
    plugins: [mcpServer({ exposeTools: true })],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const { body: run } = await apiClient(url, { apiKey: apiKeys[0] }).post("/v1/agents/assistant/runs", { task: "x" });
  const runId = run.runId as string;
  return {
    url,
    model,
    kv,
    runId,
    concrete: (path: string) =>
      path.replace(":runId", runId).replace(":name", path.includes("tools") ? "calculator" : "assistant")
        .replace(":id", "assistant").replace(":sha256", "0".repeat(64)),
    close: async () => {
      await server.shutdown();
      kv.close();
      await model.close();
    },
  };
}
