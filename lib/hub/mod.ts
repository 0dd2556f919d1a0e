/**
 * `@smolstep/smolstep/hub`: tools from the Hugging Face Hub and Gradio apps.
 *
 * - `Tool.fromSpace(spaceId, options)` / `Tool.fromGradio(url, options)`: a tool calling a Gradio app's HTTP API,
 *   its inputs read from the app's API info.
 * - `Tool.declareSpace` / `Tool.declareGradio`: the same with the inputs given, connecting at the first call (for
 *   code that may not do I/O when it builds its agents, e.g. a Worker's global scope).
 * - `ToolCollection.fromHub(slug, {trustRemoteCode: true})`: the Spaces of a Hub collection as tools.
 *
 * `Tool` and `ToolCollection` here extend the core classes with these static loaders.
 *
 * @module
 */

import { Tool as CoreTool } from "../tools/tool.ts";
import { ToolCollection as CoreToolCollection } from "../tools/tool_collection.ts";
import { type CollectionToolOptions, toolsFromCollection } from "./collections.ts";
import type { GradioTool } from "./gradio_tool.ts";
import {
  type DeclaredToolOptions,
  declareGradioTool,
  declareSpaceTool,
  type GradioOptions,
  type SpaceOptions,
  toolFromGradio,
  toolFromSpace,
} from "./spaces.ts";

/** The core `Tool` with the Hub loaders. */
export abstract class Tool<Args extends Record<string, unknown> = Record<string, unknown>, Output = unknown>
  extends CoreTool<Args, Output> {
  /** A tool calling a Space's Gradio app; its inputs come from the app's API info. */
  static fromSpace(spaceId: string, options: SpaceOptions = {}): Promise<GradioTool> {
    return toolFromSpace(spaceId, options);
  }

  /** A tool calling the Gradio app at `url`. */
  static fromGradio(url: string, options: GradioOptions = {}): Promise<GradioTool> {
    return toolFromGradio(url, options);
  }

  /**
   * A Space tool made without any request (its name, description and inputs given): it resolves the Space and
   * reads the API info at its first call. For agents built where no I/O may happen (a Worker's global scope).
   */
  static declareSpace(spaceId: string, options: DeclaredToolOptions & Omit<SpaceOptions, "signal">): GradioTool {
    return declareSpaceTool(spaceId, options);
  }

  /** `declareSpace` for a Gradio app's URL. */
  static declareGradio(url: string, options: DeclaredToolOptions & Omit<GradioOptions, "signal">): GradioTool {
    return declareGradioTool(url, options);
  }
}

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
