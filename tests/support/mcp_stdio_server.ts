// An MCP server over stdio (the SDK's StdioServerTransport): `deno run -A tests/support/mcp_stdio_server.ts`.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { buildMcpServer } from "./mcp_servers.ts";

await buildMcpServer().connect(new StdioServerTransport());
