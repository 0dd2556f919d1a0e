/**
 * `@smolstep/smolstep/mcp/server`: the app's agents as an MCP server (Model Context Protocol, Streamable HTTP,
 * stateless), mounted with `createSmolstep({..., plugins: [mcpServer()]})`. Each agent is a tool
 * (`{task, additionalArgs?}` in, its final answer out); with `exposeTools` the agents' own tools are tools too.
 * A separate entry: the SDK's transport and this server add about 12 KiB gzip to a Workers bundle (README: MCP server).
 *
 * @module
 */
import type { AppPlugin } from "../../http/app_context.ts";
import { mountMcpEndpoint } from "./mcp_endpoint.ts";
import { mcpRoutes } from "./mcp_openapi.ts";

export { RUN_ID_META } from "./mcp_tools.ts";
export { IDEMPOTENCY_KEY_META } from "./mcp_idempotency.ts";
export type { RunProgress, RunToAnswer, RunToAnswerInput, RunToAnswerOptions } from "../../http/run_to_answer.ts";

export interface McpServerOptions {
  /** Where the endpoint is (default `/mcp`). It is behind the app's API keys, like `/v1/*`. */
  path?: string;
  /**
   * Also list the agents' own tools (those that allow direct calls), run as `POST /v1/tools/{name}` runs them: the
   * same argument checks, time limits and egress rules. Default false: a host sees the agents only.
   */
  exposeTools?: boolean;
  /** `instructions` sent to hosts on `initialize` (how to use these agents). */
  instructions?: string;
}

/** The MCP server as an app plugin: `createSmolstep({agents, store, queue, plugins: [mcpServer()]})`. */
export function mcpServer(options: McpServerOptions = {}): AppPlugin {
  const path = options.path ?? "/mcp";
  return {
    paths: [path],
    routes: mcpRoutes(path),
    mount: (app, ctx) =>
      mountMcpEndpoint(app, ctx, {
        path,
        exposeTools: options.exposeTools ?? false,
        instructions: options.instructions,
      }),
  };
}
