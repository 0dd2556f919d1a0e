/**
 * transformers.js pipelines for `loadTool(..., {local: true})`: Deno and Node only (ONNX Runtime's native addon
 * and a filesystem for the weights). The library is imported on first use; Workers and browsers are refused with
 * an error that says what to do instead.
 */

import { ConfigurationError } from "../errors.ts";
import {
  assertRuntimeSupported,
  importTransformers,
  type LoadOptions,
  pipelineOptions,
  resolveModelSource,
  type TransformersLibrary,
} from "../models/transformers_loader.ts";

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
  const library = await importTransformers();
  try {
    const pipe = await library.pipeline(task as never, source, pipelineOptions(options, localOnly));
    const run = pipe as unknown as (...args: unknown[]) => Promise<unknown>;
    return { run: (...args) => run(...args), library };
  } catch (error) {
    const where = localOnly ? `from "${source}" (local files only)` : `"${source}"`;
    throw new ConfigurationError(
      `${task} pipeline: could not load ${where}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
