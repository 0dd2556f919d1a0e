/**
 * smolagents' Hub methods on tools: `tool.save(dir)`, `tool.pushToHub(repoId)`, `Tool.fromHub(repoId)`, and the
 * Gradio loaders `Tool.fromSpace` / `Tool.fromGradio` (lib/hub/spaces.ts). They live
 * on this entry's `Tool` (a subclass of the core `Tool`) and `tool()`, and as functions that take any core tool.
 *
 * Trust model: `fromHub` downloads code; it refuses without `trustRemoteCode: true` (as smolagents) and runs that
 * code only in the QuickJS sandbox you pass as `executor`, one fresh sandbox per call, under the executor's time and
 * memory limits. The code has no network, no host APIs and no other tools: only its arguments.
 */

import type { z } from "zod";
import { ConfigurationError } from "../errors.ts";
import type { CodeExecutor } from "../executors/executor.ts";
import { Tool as CoreTool, tool as coreTool, type ToolContext, type ToolSpec } from "../tools/tool.ts";
import type { ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";
import { makeDirectory, writeFileBytes } from "../types/save_file.ts";
import { downloadSpaceFile, type HubOptions } from "./hub_http.ts";
import { pushSpaceFiles, type PushToHubOptions } from "./hub_push.ts";
import { parseToolManifest, TOOL_FILES, toolFiles, type ToolManifest } from "./tool_files.ts";
import { checkToolModule, sandboxProgram, toolModuleFromFunction } from "./tool_module.ts";
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

export type { PushToHubOptions } from "./hub_push.ts";

/** Options of `Tool.fromHub`. */
export interface ToolFromHubOptions extends HubOptions {
  /** Must be true: the tool's code is downloaded (and run, in the sandbox). */
  trustRemoteCode?: boolean;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /**
   * The QuickJS sandbox each call runs in: `createDenoQuickJSExecutor()` from `@smolstep/smolstep/deno` (Deno,
   * Node), or `new QuickJSExecutor({ wasm })` with the imported .wasm module on Workers. Its limits apply per call.
   */
  executor?: CodeExecutor;
}

/** The tool.js module source of a tool: its own (`toModuleSource`), or made from its `forward`. */
export function toolModuleSource(tool: CoreTool): string {
  if (tool instanceof Tool) return tool.toModuleSource();
  return toolModuleFromFunction(tool.forward, tool.name);
}

/** Writes tool.json, tool.js and README.md into `dir` (created if missing). Deno and Node. */
export async function saveTool(tool: CoreTool, dir: string): Promise<void> {
  const files = toolFiles(tool, toolModuleSource(tool));
  await makeDirectory(dir, "Tool");
  const encoder = new TextEncoder();
  for (const [path, text] of Object.entries(files)) {
    await writeFileBytes(`${dir.replace(/\/+$/, "")}/${path}`, encoder.encode(text), "Tool");
  }
}

/** Uploads the tool's files to the Space `repoId` (created if missing); returns the commit (or PR) URL. */
export function pushToolToHub(tool: CoreTool, repoId: string, options: PushToHubOptions = {}): Promise<string> {
  const files = toolFiles(tool, toolModuleSource(tool));
  return pushSpaceFiles(repoId, files, { ...options, commitMessage: options.commitMessage ?? "Upload tool" });
}

/** Loads a tool from a Space: its tool.json describes it, its tool.js runs in the sandbox on each call. */
export async function toolFromHub(repoId: string, options: ToolFromHubOptions = {}): Promise<Tool> {
  if (options.trustRemoteCode !== true) {
    throw new ConfigurationError(
      "Loading a tool from the Hub requires to acknowledge you trust its code: to do so, pass `trustRemoteCode: true`.",
    );
  }
  const executor = options.executor;
  if (!executor) {
    throw new ConfigurationError(
      "Tool.fromHub needs `executor`, the QuickJS sandbox its code runs in (createDenoQuickJSExecutor() from " +
        "@smolstep/smolstep/deno, or new QuickJSExecutor({ wasm }) on Workers).",
    );
  }
  const [manifest, code] = await Promise.all([
    downloadSpaceFile(repoId, TOOL_FILES.manifest, options),
    downloadSpaceFile(repoId, TOOL_FILES.module, options),
  ]);
  return new SandboxedTool(parseToolManifest(manifest, repoId), code, executor);
}

/**
 * The core `Tool` with smolagents' Hub methods. Subclass it as the core one; `toModuleSource()` is made from
 * `forward`'s source (override it for a tool whose forward needs more than its arguments).
 */
export abstract class Tool<Args extends Record<string, unknown> = Record<string, unknown>, Output = unknown>
  extends CoreTool<Args, Output> {
  /** The tool.js module (see lib/hub/tool_module.ts for its contract). */
  toModuleSource(): string {
    return toolModuleFromFunction(this.forward, this.name);
  }

  /** Writes tool.json, tool.js and README.md into `dir`. */
  save(dir: string): Promise<void> {
    return saveTool(this, dir);
  }

  /** Uploads the tool to the Space `repoId`; returns the commit (or pull request) URL. */
  pushToHub(repoId: string, options: PushToHubOptions = {}): Promise<string> {
    return pushToolToHub(this, repoId, options);
  }

  /** Loads a tool pushed with `pushToHub` (or written by hand to the same contract); see `toolFromHub`. */
  static fromHub(repoId: string, options: ToolFromHubOptions = {}): Promise<Tool> {
    return toolFromHub(repoId, options);
  }

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

/** A tool loaded from the Hub: each call runs its module in a fresh sandbox of the executor. */
class SandboxedTool extends Tool {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType;
  readonly #code: string;
  readonly #program: string;
  readonly #executor: CodeExecutor;

  constructor(manifest: ToolManifest, code: string, executor: CodeExecutor) {
    super();
    ({ name: this.name, description: this.description, inputs: this.inputs, outputType: this.outputType } = manifest);
    this.#code = code;
    this.#program = sandboxProgram(code);
    this.#executor = executor;
  }

  override toModuleSource(): string {
    return checkToolModule(this.#code);
  }

  async forward(args: Record<string, unknown>, context: ToolContext): Promise<unknown> {
    const result = await this.#executor.execute(this.#program, {
      variables: { args },
      tools: {},
      signal: context.signal,
    });
    if (result.error) {
      const logs = result.logs ? `\nLogs:\n${result.logs}` : "";
      throw new Error(`${result.error.name}: ${result.error.message}${logs}`);
    }
    if (!result.finalAnswer) throw new Error(`Tool '${this.name}' returned nothing.`);
    return result.finalAnswer.value;
  }
}

/** The core `tool({...})`, returning this entry's `Tool`: its `run` becomes tool.js when saved or pushed. */
export function tool<Schema extends z.ZodObject, Output>(
  spec: ToolSpec<Schema, Output>,
): Tool<z.infer<Schema>, Output> {
  return new HubFunctionTool(spec);
}

class HubFunctionTool<Schema extends z.ZodObject, Output> extends Tool<z.infer<Schema>, Output> {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType;
  readonly #inner: CoreTool<z.infer<Schema>, Output>;
  readonly #run: ToolSpec<Schema, Output>["run"];

  constructor(spec: ToolSpec<Schema, Output>) {
    super();
    const inner = coreTool(spec);
    this.#inner = inner;
    this.#run = spec.run;
    ({ name: this.name, description: this.description, inputs: this.inputs, outputType: this.outputType } = inner);
    this.needsApproval = inner.needsApproval;
    this.timeoutMs = inner.timeoutMs;
  }

  override get schema(): z.ZodType<z.infer<Schema>> {
    return this.#inner.schema;
  }

  override setup(): void | Promise<void> {
    return this.#inner.setup();
  }

  forward(args: z.infer<Schema>, context: ToolContext): Output | Promise<Output> {
    return this.#inner.forward(args, context);
  }

  override toModuleSource(): string {
    return toolModuleFromFunction(this.#run, this.name);
  }
}
