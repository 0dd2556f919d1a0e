/**
 * transformers.js pipelines for `loadTool(..., {local: true})`: Deno and Node only (ONNX Runtime's native addon
 * and a filesystem for the weights). The library is imported on first use; Workers and browsers are refused with
 * an error that says what to do instead.
 */

import { ConfigurationError } from "../errors.ts";
import {
  assertRuntimeSupported,
  type LoadOptions,
  pipelineOptions,
  resolveModelSource,
  type TransformersLibrary,
} from "../models/transformers_loader.ts";

/**
 * The library's name in a variable: bundlers (wrangler, esbuild) leave `import(TRANSFORMERS)` alone, so an edge
 * bundle of this entry does not carry transformers.js (about 175 KiB gzip) for a path Workers refuse anyway. Deno
 * and Node resolve it at run time (Deno through deno.json's import map).
 */
const TRANSFORMERS = "@huggingface/transformers";
let library: Promise<TransformersLibrary> | undefined;

function loadLibrary(): Promise<TransformersLibrary> {
  return library ??= (import(TRANSFORMERS) as Promise<TransformersLibrary>).catch((error) => {
    library = undefined;
    throw new ConfigurationError(`local: true: cannot import ${TRANSFORMERS} (${String(error)}); install it`, {
      cause: error,
    });
  });
}

/** transformers.js loading options: `localModelPath`, `allowRemoteModels`, `dtype`, `cacheDir`, `revision`... */
export type LocalPipelineOptions = LoadOptions;

/** A loaded pipeline and the library it came from (for helpers such as `RawImage`). */
export interface LocalPipeline {
  run(...args: unknown[]): Promise<unknown>;
  library: TransformersLibrary;
}

/** Throws a `ConfigurationError` where transformers.js cannot run (Workers, browsers). */
export function assertLocalSupported(): void {
  try {
    assertRuntimeSupported();
  } catch (error) {
    throw new ConfigurationError(
      `local: true needs Deno or Node (transformers.js with ONNX Runtime): ${(error as Error).message} ` +
        "Leave `local` unset to run the tool through the Hugging Face inference API.",
      { cause: error },
    );
  }
}

/** Loads the transformers.js pipeline for `task` from `model` (a Hub id or a local folder). */
export async function loadLocalPipeline(
  task: string,
  model: string,
  options: LocalPipelineOptions,
): Promise<LocalPipeline> {
  assertLocalSupported();
  const { source, localOnly } = resolveModelSource(model, options);
  const transformers = await loadLibrary();
  try {
    const pipe = await transformers.pipeline(task as never, source, pipelineOptions(options, localOnly));
    const run = pipe as unknown as (...args: unknown[]) => Promise<unknown>;
    return { run: (...args) => run(...args), library: transformers };
  } catch (error) {
    const where = localOnly ? `from "${source}" (local files only)` : `"${source}"`;
    throw new ConfigurationError(
      `${task} pipeline: could not load ${where}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
