/**
 * `@smolstep/smolstep/hf`: Hugging Face Inference Providers through `@huggingface/inference` (`InferenceClientModel`,
 * and transformers-agents' `HfApiEngine`). A separate entry because that client cannot be tree-shaken (about
 * 118 KiB gzip): bundles that never call it stay small.
 *
 * @module
 */

export { DEFAULT_INFERENCE_CLIENT_MODEL_ID, InferenceClientModel } from "../models/inference_client_model.ts";
export type { InferenceClientModelOptions } from "../models/inference_client_model.ts";
export { DEFAULT_HF_API_ENGINE_MODEL, HfApiEngine } from "../models/hf_api_engine.ts";
export type { HfApiEngineOptions } from "../models/hf_api_engine.ts";
