/**
 * Loads a transformers.js text-generation pipeline for `TransformersModel`: checks the runtime can run it,
 * imports `@huggingface/transformers` on first use, resolves local folders, and turns failures into errors that
 * say what to fix. Nothing here changes transformers.js' global `env`: every setting travels with the call.
 */

import { ConfigurationError } from "../errors.ts";
import type { TextGenerationBackend } from "./transformers_generation.ts";

export interface LoadOptions {
  /** ONNX Runtime device: "cpu" (default under Deno/Node), "webgpu", "cuda", "dml", "coreml", "wasm", "auto"... */
  device?: string;
  /** Weights variant: "fp32", "fp16", "q8", "q4", "q4f16"... (picks `onnx/model_<suffix>.onnx`). */
  dtype?: string;
  /**
   * A folder holding models by id: `modelId` "org/name" loads `<localModelPath>/org/name`, nothing is downloaded.
   * (transformers.js' `env.localModelPath`, without changing the global.)
   */
  localModelPath?: string;
  /**
   * Download missing files from the Hub (default true for Hub ids). False loads only local files and fails at once
   * when one is missing. Local folders never download.
   */
  allowRemoteModels?: boolean;
  /** Where downloaded files are cached (transformers.js' `cache_dir`). */
  cacheDir?: string;
  /** Hub revision (branch, tag or commit; default "main"). */
  revision?: string;
  /** More options for transformers.js' `pipeline()` (e.g. `session_options`, `progress_callback`, `subfolder`). */
  modelKwargs?: Record<string, unknown>;
}

export type TransformersLibrary = typeof import("@huggingface/transformers");

let library: Promise<TransformersLibrary> | undefined;

/** Imports transformers.js once per process (it loads ONNX Runtime's native addon under Deno and Node). */
function importTransformers(): Promise<TransformersLibrary> {
  library ??= import("@huggingface/transformers").catch((error) => {
    library = undefined;
    throw new ConfigurationError(
      `TransformersModel: could not load @huggingface/transformers in this runtime (${errorText(error)}). ` +
        "It needs Deno or Node with the npm package and its onnxruntime-node dependency installed.",
      { cause: error },
    );
  });
  return library;
}

/** Throws when this runtime cannot run transformers.js with local weights. */
export function assertRuntimeSupported(): void {
  const userAgent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? "";
  if (userAgent.startsWith("Cloudflare-Workers")) {
    throw new ConfigurationError(
      "TransformersModel cannot run on Cloudflare Workers: they have no filesystem for model weights and cannot " +
        "load onnxruntime-node. Serve the model elsewhere and use a remote model class here.",
    );
  }
  const deno = "Deno" in globalThis;
  const node = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
    "string";
  if (!deno && !node) {
    throw new ConfigurationError(
      "TransformersModel needs Deno or Node (filesystem access and ONNX Runtime); this runtime has neither.",
    );
  }
}

/** True for ids that name a folder rather than a Hub repository. */
export function isLocalPath(modelId: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|[A-Za-z]:[\\/]|file:)/.test(modelId);
}

/**
 * What to hand to transformers.js: a folder (never downloads) or a Hub id (downloads unless `allowRemoteModels`
 * is false).
 */
export function resolveModelSource(
  modelId: string,
  options: LoadOptions,
): { source: string; folder: boolean; localOnly: boolean } {
  if (modelId.startsWith("file:")) {
    return { source: decodeURIComponent(new URL(modelId).pathname), folder: true, localOnly: true };
  }
  if (isLocalPath(modelId)) return { source: modelId, folder: true, localOnly: true };
  if (options.localModelPath) {
    const source = `${options.localModelPath.replace(/[\\/]+$/, "")}/${modelId}`;
    return { source, folder: true, localOnly: true };
  }
  return { source: modelId, folder: false, localOnly: options.allowRemoteModels === false };
}

/** transformers.js `pipeline()` options from ours (every setting travels with the call, none in the global env). */
export function pipelineOptions(options: LoadOptions, localOnly: boolean): Record<string, unknown> {
  return {
    ...options.modelKwargs,
    local_files_only: localOnly,
    ...(options.device ? { device: options.device } : {}),
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.cacheDir ? { cache_dir: options.cacheDir } : {}),
    ...(options.revision ? { revision: options.revision } : {}),
  };
}

/** Creates the text-generation pipeline for `modelId`. */
export async function loadTextGeneration(modelId: string, options: LoadOptions): Promise<TextGenerationBackend> {
  assertRuntimeSupported();
  const { source, folder, localOnly } = resolveModelSource(modelId, options);
  if (folder) await assertModelFolder(modelId, source);
  const { pipeline } = await importTransformers();
  try {
    const pipe = await pipeline("text-generation", source, pipelineOptions(options, localOnly));
    return pipe as unknown as TextGenerationBackend;
  } catch (error) {
    const where = localOnly ? `from "${source}" (local files only)` : `"${source}"`;
    throw new ConfigurationError(`TransformersModel "${modelId}": could not load ${where}: ${errorText(error)}`, {
      cause: error,
    });
  }
}

const REQUIRED_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json"];

/** A clear error for a missing folder or a folder that is not a transformers.js model. */
async function assertModelFolder(modelId: string, folder: string): Promise<void> {
  const { stat } = await import("node:fs/promises");
  const exists = (path: string) => stat(path).then(() => true, () => false);
  if (!(await exists(folder))) {
    throw new ConfigurationError(
      `TransformersModel "${modelId}": no model folder at "${folder}" (downloads are off for local paths; ` +
        `expected ${REQUIRED_FILES.join(", ")} and onnx/model*.onnx there)`,
    );
  }
  const missing = [];
  for (const file of REQUIRED_FILES) if (!(await exists(`${folder}/${file}`))) missing.push(file);
  if (missing.length > 0) {
    throw new ConfigurationError(`TransformersModel "${modelId}": "${folder}" lacks ${missing.join(", ")}`);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
