/**
 * `OpenAIServerModel`: any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, LM Studio, TGI,
 * OpenRouter...), over `fetch` (`openai_client_model.ts`). Retries, Retry-After and rate limiting are ours
 * (`retry.ts`).
 */

import { ConfigurationError } from "../errors.ts";
import {
  type ChatEndpoint,
  OPENAI_API_BASE,
  OpenAIClientModel,
  type OpenAIClientOptions,
} from "./openai_client_model.ts";
import type { RemoteModelOptions } from "./request_runner.ts";

export interface OpenAIServerModelOptions extends RemoteModelOptions {
  /** Model name sent as `model`, e.g. "gpt-4o-mini". */
  modelId: string;
  /** Base URL of the API, e.g. "http://localhost:8000/v1" (default: OpenAI's). */
  apiBase?: string;
  /** Required at the first call (the library never reads environment variables: pass OPENAI_API_KEY here). */
  apiKey?: string;
  organization?: string;
  project?: string;
  /**
   * Transport settings named as in the `openai` package (`fetch`, `defaultHeaders`, `defaultQuery`...). Set
   * `dangerouslyAllowBrowser: true` here only if you accept exposing the key in a browser.
   */
  clientOptions?: OpenAIClientOptions;
  /** Per-request timeout, each attempt (default 10 minutes, as the `openai` client). */
  timeoutMs?: number;
}

/** A chat model served through the OpenAI chat completions API. */
export class OpenAIServerModel extends OpenAIClientModel {
  readonly apiBase: string | undefined;
  readonly #options: OpenAIServerModelOptions;

  constructor(options: OpenAIServerModelOptions) {
    if (!options?.modelId) throw new ConfigurationError("OpenAIServerModel: `modelId` is required");
    super({ ...options, label: "OpenAIServerModel" });
    this.apiBase = options.apiBase;
    this.#options = options;
  }

  protected endpoint(): ChatEndpoint {
    const { apiKey, apiBase, organization, project, clientOptions = {} } = this.#options;
    const key = apiKey ?? clientOptions.apiKey;
    if (!key) {
      throw new ConfigurationError(
        `OpenAIServerModel "${this.modelId}": no API key; pass \`apiKey\` (e.g. from the OPENAI_API_KEY secret)`,
      );
    }
    return this.bearerEndpoint(apiBase ?? clientOptions.baseURL ?? OPENAI_API_BASE, key, { organization, project });
  }
}
