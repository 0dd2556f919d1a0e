/**
 * `@smolstep/smolstep/mcp/stdio`: MCP servers started as a child process and spoken to over stdio (Deno and Node;
 * not Workers or browsers, which cannot start processes).
 *
 * ```ts
 * import { ToolCollection } from "@smolstep/smolstep/mcp";
 * import { stdioServer } from "@smolstep/smolstep/mcp/stdio";
 * const collection = await ToolCollection.fromMcp(stdioServer({ command: "uvx", args: ["mcp-server-time"] }), {
 *   trustRemoteCode: true,
 * });
 * ```
 *
 * @module
 */
import { StdioClientTransport, type StdioServerParameters } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { McpTransportServer } from "../../mcp/mcp_server.ts";

export type { StdioServerParameters };

/**
 * An MCP server run as a child process (smolagents' `StdioServerParameters`): `command`, `args`, `env` (by default
 * the SDK passes only a safe subset of this process's environment), `cwd`, `stderr`. One process per isolate is
 * shared by every tool of the server, and started again when it exited.
 */
export function stdioServer(parameters: StdioServerParameters): McpTransportServer {
  const { command, args = [], env, cwd } = parameters;
  return {
    key: JSON.stringify(["stdio", command, args, env ?? null, cwd ?? null]),
    createTransport: () => new StdioClientTransport(parameters),
  };
}
