/**
 * `HfApiEngine`: transformers-agents' name and arguments for a Hugging Face Inference API engine, as a thin
 * `InferenceClientModel` (same routing, retries and errors).
 */

import { InferenceClientModel, type InferenceClientModelOptions } from "./inference_client_model.ts";

/** transformers-agents' default engine model. */
export const DEFAULT_HF_API_ENGINE_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct";

export interface HfApiEngineOptions extends Omit<InferenceClientModelOptions, "modelId" | "apiKey"> {
  /** Hub model id (default `DEFAULT_HF_API_ENGINE_MODEL`). */
  model?: string;
  /** Hugging Face token (pass HF_TOKEN: the library never reads env). */
  token?: string;
  /** Most tokens in a reply, sent as `max_tokens` (default 1500). `kwargs.max_tokens` wins over it. */
  maxTokens?: number;
  /** Seconds per attempt (default 120). */
  timeout?: number;
}

/** transformers-agents' `HfApiEngine`: an `InferenceClientModel` with its defaults. */
export class HfApiEngine extends InferenceClientModel {
  constructor(options: HfApiEngineOptions = {}) {
    const { model = DEFAULT_HF_API_ENGINE_MODEL, maxTokens = 1500, kwargs, ...rest } = options;
    super({ ...rest, modelId: model, kwargs: { max_tokens: maxTokens, ...kwargs } });
  }
}
