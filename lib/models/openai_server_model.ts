/**
 * `OpenAIServerModel`: any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, LM Studio, TGI,
 * OpenRouter...) through the `openai` npm client. Retries, Retry-After and rate limiting are ours (`retry.ts`).
 */

import OpenAI, { type ClientOptions } from "openai";
import { ConfigurationError } from "../errors.ts";
import { OpenAIClientModel } from "./openai_client_model.ts";
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
   * Passed to the `openai` constructor (e.g. `fetch`, `defaultHeaders`). Its `maxRetries` is always 0 (retries
   * are ours). Set `dangerouslyAllowBrowser: true` here only if you accept exposing the key in a browser.
   */
  clientOptions?: ClientOptions;
  /** Per-request timeout, each attempt (the client's default is 10 minutes). */
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

  protected createClient(): OpenAI {
    const { apiKey, apiBase, organization, project, clientOptions } = this.#options;
    if (!apiKey && !clientOptions?.apiKey) {
      throw new ConfigurationError(
        `OpenAIServerModel "${this.modelId}": no API key; pass \`apiKey\` (e.g. from the OPENAI_API_KEY secret)`,
      );
    }
    return new OpenAI({
      ...this.baseClientOptions(clientOptions),
      baseURL: apiBase ?? clientOptions?.baseURL ?? null,
      organization: organization ?? clientOptions?.organization ?? null,
      project: project ?? clientOptions?.project ?? null,
      apiKey: apiKey ?? clientOptions?.apiKey,
    });
  }
}
