/**
 * `MLXModel`: a model served by `mlx_lm.server` (the OpenAI-compatible server of the mlx-lm package). MLX runs on
 * Apple silicon, not on the edge: start the server on a Mac (`mlx_lm.server --model <id>`) and point this at it.
 * Loading options (smolagents' `trust_remote_code`, `load_kwargs`, chat template settings) belong on the server's
 * command line. Messages are always sent as plain text, as smolagents' MLXModel renders them.
 */

import { ConfigurationError } from "../errors.ts";
import { type ChatEndpoint, OpenAIClientModel, type OpenAIClientOptions } from "./openai_client_model.ts";
import type { RemoteModelOptions } from "./request_runner.ts";

/** Where `mlx_lm.server` listens by default. */
export const MLX_DEFAULT_API_BASE = "http://127.0.0.1:8080/v1";

export interface MLXModelOptions extends Omit<RemoteModelOptions, "flattenMessagesAsText"> {
  /** A Hugging Face id or local path the server loads, e.g. "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit". */
  modelId: string;
  /** The server's base URL (default `MLX_DEFAULT_API_BASE`). */
  apiBase?: string;
  /** Only if something in front of the server checks one (mlx_lm.server itself does not). */
  apiKey?: string;
  /** Transport settings named as in the `openai` package (e.g. `fetch`, `defaultHeaders`). */
  clientOptions?: OpenAIClientOptions;
}

/** A chat model served by `mlx_lm.server` on Apple silicon. */
export class MLXModel extends OpenAIClientModel {
  readonly apiBase: string;
  readonly #options: MLXModelOptions;

  constructor(options: MLXModelOptions) {
    if (!options?.modelId) throw new ConfigurationError("MLXModel: `modelId` is required");
    super({ ...options, flattenMessagesAsText: true, label: "MLXModel" });
    this.apiBase = options.apiBase ?? MLX_DEFAULT_API_BASE;
    this.#options = options;
  }

  protected endpoint(): ChatEndpoint {
    return this.bearerEndpoint(this.apiBase, this.#options.apiKey ?? this.clientOptions.apiKey);
  }
}
