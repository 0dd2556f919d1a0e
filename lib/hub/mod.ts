/**
 * `@smolstep/smolstep/hub`: tools and agents on the Hugging Face Hub and Gradio apps, as smolagents has them. `tool.save(dir)`,
 * `tool.pushToHub(repoId)` and `Tool.fromHub(repoId, { trustRemoteCode: true, executor })` on this entry's `Tool`
 * and `tool()`; `pushAgentToHub(agent, repoId)` and `MultiStepAgent.fromHub(repoId, { tools, model })`.
 * `Tool.fromSpace` / `Tool.fromGradio` (and `Tool.declareSpace` / `declareGradio`, which connect at the first call)
 * call a Gradio app's HTTP API; `ToolCollection.fromHub(slug, {trustRemoteCode: true})` makes a collection's Spaces
 * tools.
 *
 * Code loaded from the Hub runs only in the QuickJS sandbox you pass (`executor`), never on the host. Every Hub
 * request goes through the egress guard (`egress` opts in to a local Hub for tests).
 *
 * Install `@huggingface/hub` (an optional peer of the npm package). On Cloudflare Workers, alias it to its browser
 * build (its package exports the Node build, which imports node: modules) and pass a `QuickJSExecutor` built on the
 * imported .wasm (see lib/executors/quickjs_executor.ts):
 *
 * ```toml
 * [alias]
 * "@huggingface/hub" = "./node_modules/@huggingface/hub/dist/browser/index.mjs"
 * ```
 *
 * ```ts
 * import { Tool, tool } from "@smolstep/smolstep/hub";
 * import { createDenoQuickJSExecutor } from "@smolstep/smolstep/deno";
 * import * as z from "zod";
 *
 * const add = tool({
 *   name: "add",
 *   description: "Adds two numbers",
 *   inputs: z.object({ a: z.number().describe("first"), b: z.number().describe("second") }),
 *   output: "number",
 *   run: ({ a, b }) => a + b,
 * });
 * await add.pushToHub("me/add-tool", { token: Deno.env.get("HF_TOKEN") });
 * const loaded = await Tool.fromHub("me/add-tool", { trustRemoteCode: true, executor: createDenoQuickJSExecutor() });
 * ```
 *
 * @module
 */

import { ToolCollection as CoreToolCollection } from "../tools/tool_collection.ts";
import { type CollectionToolOptions, toolsFromCollection } from "./collections.ts";

export { pushToolToHub, saveTool, Tool, tool, toolFromHub, toolModuleSource } from "./hub_tool.ts";
export type { PushToHubOptions, ToolFromHubOptions } from "./hub_tool.ts";
export { agentFromHub, MultiStepAgent, pushAgentToHub } from "./agent_hub.ts";
export type { AgentFromHubOptions } from "./agent_hub.ts";
export { HubError } from "./hub_http.ts";
export type { HubOptions } from "./hub_http.ts";
export { ToolModuleError } from "./tool_module.ts";
export type { ToolManifest } from "./tool_files.ts";

/** The core `ToolCollection` with `fromHub`. */
export class ToolCollection extends CoreToolCollection {
  /** The Spaces of a Hub collection as tools; refused without `trustRemoteCode: true`. */
  static async fromHub(collectionSlug: string, options: CollectionToolOptions = {}): Promise<ToolCollection> {
    return new ToolCollection(await toolsFromCollection(collectionSlug, options));
  }
}

export { GradioTool } from "./gradio_tool.ts";
export type { GradioEndpoint, GradioToolOptions, GradioToolSpec } from "./gradio_tool.ts";
export { GradioError } from "./gradio_client.ts";
export type {
  GradioApiInfo,
  GradioApiValue,
  GradioConnection,
  GradioEndpointInfo,
  GradioFileData,
} from "./gradio_client.ts";
export { resolveSpaceUrl } from "./spaces.ts";
export type { DeclaredToolOptions, GradioOptions, SpaceOptions } from "./spaces.ts";
export type { CollectionItem, CollectionToolOptions } from "./collections.ts";
