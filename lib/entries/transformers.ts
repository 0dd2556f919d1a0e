/**
 * `@smolstep/smolstep/transformers`: local text generation with transformers.js (`@huggingface/transformers`, ONNX
 * Runtime underneath): `TransformersModel` (smolagents) and `TransformersEngine` (transformers-agents). Deno and
 * Node only; the library loads on the first call, and is an optional dependency of the npm package.
 *
 * @module
 */

export { TransformersEngine, TransformersModel } from "../models/transformers_model.ts";
export type { LoadedBackend, TextGenerationBackend, TransformersModelOptions } from "../models/transformers_model.ts";
