import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Tool as McpToolDefinition } from "@modelcontextprotocol/sdk/types.js";
import { ConfigurationError } from "../errors.ts";
import { dropConnection, withConnection } from "./mcp_connections.ts";
import type { McpServerParameters } from "./mcp_server.ts";
import { McpTool, type McpToolOptions } from "./mcp_tool.ts";

export type MCPClientOptions = McpToolOptions;

/**
 * smolagents' `MCPClient`: connects to one or more MCP servers and lists their tools.
 *
 * ```ts
 * const client = await new MCPClient({ url: "https://mcp.example.com/mcp" }).connect();
 * const agent = new ToolCallingAgent({ tools: client.getTools(), model });
 * // ...
 * await client.close();
 * ```
 *
 * The tools do not hold the connection: each call uses the isolate's shared connection to its server and opens a new
 * one when there is none, so they keep working after `close()` (reconnecting) and after a restart.
 */
export class MCPClient {
  readonly #servers: McpServerParameters[];
  readonly #options: MCPClientOptions;
  #tools: McpTool[] | undefined;

  constructor(servers: McpServerParameters | McpServerParameters[], options: MCPClientOptions = {}) {
    this.#servers = Array.isArray(servers) ? [...servers] : [servers];
    this.#options = options;
  }

  /** Connects to every server and lists its tools (paging through `tools/list`). Returns this client. */
  async connect(): Promise<this> {
    const lists = await Promise.all(this.#servers.map((server) => this.#listTools(server)));
    this.#tools = lists.flat();
    return this;
  }

  /** The servers' tools, in server order. Throws when `connect()` has not completed. */
  getTools(): McpTool[] {
    if (!this.#tools) throw new ConfigurationError("MCPClient: call connect() before getTools()");
    return [...this.#tools];
  }

  /** Closes the connections to the servers (a tool used later opens a new one). */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((server) => dropConnection(server)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #listTools(server: McpServerParameters): Promise<McpTool[]> {
    // A listing may be sent again on a new connection, even after one that closed in flight.
    const definitions = await withConnection(server, listAllTools, undefined, true);
    const tools = definitions.map((definition) => new McpTool(server, definition, this.#options));
    const shadowing = tools.find((tool) => tool.name === "final_answer");
    if (shadowing) {
      await dropConnection(server);
      throw new ConfigurationError(
        `MCPClient: the server offers a tool named '${shadowing.remoteName}', which would take the place of the ` +
          "agent's final_answer (every final answer would be sent to the server, and its reply would be the " +
          "run's answer). Refused.",
      );
    }
    return tools;
  }
}

/** Pages of `tools/list` read from one server at most: a server's paging is input, and must end. */
const MAX_TOOL_LIST_PAGES = 100;

/** Every page of the server's `tools/list`; a cursor handed back twice, or paging past the cap, is refused. */
async function listAllTools(client: Client): Promise<McpToolDefinition[]> {
  const tools: McpToolDefinition[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0;; pages++) {
    if (pages === MAX_TOOL_LIST_PAGES || (cursor !== undefined && seen.has(cursor))) {
      throw new ConfigurationError(
        `MCPClient: the server's tools/list did not end (${pages} pages, ${tools.length} tools; at most ` +
          `${MAX_TOOL_LIST_PAGES} pages, and no cursor twice).`,
      );
    }
    if (cursor !== undefined) seen.add(cursor);
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    tools.push(...page.tools);
    cursor = page.nextCursor;
    if (cursor === undefined) return tools;
  }
}
