/**
 * `@smolstep/smolstep/mcp`: tools from Model Context Protocol servers, on the official `@modelcontextprotocol/sdk`
 * client. Streamable HTTP and legacy SSE run wherever `fetch` does (Deno, Node, Workers, browsers); stdio servers
 * (Deno and Node) come from `@smolstep/smolstep/mcp/stdio`.
 *
 * @module
 */
export { MCPClient, type MCPClientOptions } from "./mcp_client.ts";
export { McpTool, type McpToolOptions } from "./mcp_tool.ts";
export { type FromMcpOptions, McpToolCollection, ToolCollection } from "./mcp_tool_collection.ts";
export type { McpHttpServer, McpServerParameters, McpTransportServer } from "./mcp_server.ts";
export { agentValueOfResult } from "./mcp_results.ts";
