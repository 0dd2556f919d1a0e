import { ConfigurationError } from "../errors.ts";
import { ToolCollection as CoreToolCollection } from "../tools/tool_collection.ts";
import { MCPClient, type MCPClientOptions } from "./mcp_client.ts";
import type { McpServerParameters } from "./mcp_server.ts";
import type { McpTool } from "./mcp_tool.ts";

export interface FromMcpOptions extends MCPClientOptions {
  /**
   * Required, as smolagents' `trust_remote_code=True`: an MCP server's tools run code you did not write (on the
   * server, or, for stdio, in a process this one starts), and their results reach your agent.
   */
  trustRemoteCode: boolean;
}

/** The core `ToolCollection` with smolagents' MCP loader. */
export class ToolCollection extends CoreToolCollection {
  /**
   * Loads the tools of an MCP server (smolagents' `ToolCollection.from_mcp`). Refused unless
   * `trustRemoteCode: true`. The tools connect lazily per isolate (see `McpTool`); `close()` closes the connection.
   */
  static async fromMcp(
    server: McpServerParameters | McpServerParameters[],
    options: FromMcpOptions,
  ): Promise<McpToolCollection> {
    if (options?.trustRemoteCode !== true) {
      throw new ConfigurationError(
        "Loading tools from MCP requires you to acknowledge you trust the MCP server, as it will execute code on " +
          "your behalf: pass `trustRemoteCode: true`.",
      );
    }
    const client = await new MCPClient(server, { structuredOutput: options.structuredOutput }).connect();
    return new McpToolCollection(client);
  }
}

/** The tools of MCP servers, with the client that listed them. */
export class McpToolCollection extends ToolCollection {
  declare readonly tools: McpTool[];
  readonly client: MCPClient;

  constructor(client: MCPClient) {
    super(client.getTools());
    this.client = client;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
