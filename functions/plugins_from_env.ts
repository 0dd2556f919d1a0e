/**
 * The capabilities from their own entries that both entries mount, read from the environment: the MCP server
 * (`/mcp`, lib/mcp/server/). Kept apart from ./server_options.ts so that what imports the options alone (the example
 * agents) does not bundle them.
 */
import type { AppPlugin } from "../lib/http/app_context.ts";
import { mcpServer } from "../lib/mcp/server/mod.ts";
import type { ServerEnv } from "./server_options.ts";

/** The MCP server as SMOLSTEP_MCP ("0": off) and SMOLSTEP_MCP_TOOLS ("1": the agents' tools too) ask. */
export function pluginsFromEnv(env: ServerEnv): AppPlugin[] {
  if (env.SMOLSTEP_MCP === "0") return [];
  return [mcpServer({ exposeTools: env.SMOLSTEP_MCP_TOOLS === "1" })];
}
