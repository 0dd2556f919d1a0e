/**
 * Test worker: proves `@smolstep/smolstep/mcp` (the SDK's Streamable HTTP client behind the egress guard) runs inside
 * workerd.
 *
 *   GET /                 -> "ready" (readiness probe)
 *   GET /run?mcp={url}    -> the tools' names and a few calls' results (the connection is opened in the request and
 *                            kept for the isolate's next requests)
 *   GET /refused?mcp={url} -> the error of connecting without the loopback opt-in
 */

import { MCPClient, type McpTool, ToolCollection } from "../../../lib/mcp/mod.ts";
import { AgentImage } from "../../../lib/types/agent_image.ts";

const byName = (tools: McpTool[], name: string) => tools.find((tool) => tool.name === name)!;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const mcp = url.searchParams.get("mcp");
    if (!mcp) return new Response("ready");
    try {
      if (url.pathname === "/refused") {
        await new MCPClient({ url: mcp }).connect();
        return Response.json({ refused: false });
      }
      const { tools } = await ToolCollection.fromMcp({ url: mcp, egress: { allowPrivateNetwork: true } }, {
        trustRemoteCode: true,
      });
      const sum = await byName(tools, "add").call({ a: 40, b: 2 });
      const image = await byName(tools, "snapshot").call({});
      const failure = await byName(tools, "fail").call({}).then(() => "no error", (error: Error) => error.message);
      return Response.json({
        tools: tools.map((tool) => tool.name).sort(),
        sum: String(sum),
        image: image instanceof AgentImage ? { type: image.mimeType, size: (await image.bytes()).length } : null,
        failure,
      });
    } catch (error) {
      return Response.json({ error: { name: (error as Error).name, message: (error as Error).message } });
    }
  },
};
