/**
 * `AzureOpenAIServerModel`: an Azure OpenAI deployment through the `openai` package's `AzureOpenAI` client. Requests
 * go to `{azureEndpoint}/openai/deployments/{modelId}/chat/completions?api-version={apiVersion}` with an `api-key`
 * header.
 */

import { type AzureClientOptions, AzureOpenAI } from "openai";
import { ConfigurationError } from "../errors.ts";
import { OpenAIClientModel } from "./openai_client_model.ts";
import type { RemoteModelOptions } from "./request_runner.ts";

/** The environment variables `AzureOpenAIServerModel` falls back to, as in smolagents. */
export interface AzureOpenAIEnv {
  AZURE_OPENAI_ENDPOINT?: string;
  AZURE_OPENAI_API_KEY?: string;
  OPENAI_API_VERSION?: string;
  [name: string]: string | undefined;
}

export interface AzureOpenAIServerModelOptions extends RemoteModelOptions {
  /** The deployment name, e.g. "gpt-4o-mini" (also sent as `model`). */
  modelId: string;
  /** e.g. "https://example-resource.openai.azure.com/" (fallback: `env.AZURE_OPENAI_ENDPOINT`). */
  azureEndpoint?: string;
  /** Fallback: `env.AZURE_OPENAI_API_KEY`. Not needed with `clientOptions.azureADTokenProvider`. */
  apiKey?: string;
  /** e.g. "2024-10-21" (fallback: `env.OPENAI_API_VERSION`, without the AZURE_ prefix, as in `openai`). */
  apiVersion?: string;
  /**
   * Where the fallbacks above are read: the library never reads the process environment itself, so pass
   * `Deno.env.toObject()`, `process.env` or a Workers `env` here to get smolagents' behaviour.
   */
  env?: AzureOpenAIEnv;
  /** Passed to `AzureOpenAI` (e.g. `azureADTokenProvider`, `fetch`, `defaultHeaders`); `maxRetries` is always 0. */
  clientOptions?: Omit<AzureClientOptions, "endpoint" | "apiKey" | "apiVersion" | "deployment">;
}

/** A chat model served by an Azure OpenAI deployment. */
export class AzureOpenAIServerModel extends OpenAIClientModel {
  readonly #options: AzureOpenAIServerModelOptions;

  constructor(options: AzureOpenAIServerModelOptions) {
    if (!options?.modelId) {
      throw new ConfigurationError("AzureOpenAIServerModel: `modelId` (the deployment name) is required");
    }
    super({ ...options, label: "AzureOpenAIServerModel" });
    this.#options = options;
  }

  /** The endpoint in use (explicit or from `env`), if any. */
  get azureEndpoint(): string | undefined {
    return this.#options.azureEndpoint ?? this.#options.env?.AZURE_OPENAI_ENDPOINT;
  }

  protected createClient(): AzureOpenAI {
    const { env = {}, clientOptions = {} } = this.#options;
    const endpoint = this.azureEndpoint;
    const apiKey = this.#options.apiKey ?? env.AZURE_OPENAI_API_KEY;
    const apiVersion = this.#options.apiVersion ?? env.OPENAI_API_VERSION;
    const missing = [
      !endpoint && !clientOptions.baseURL && "`azureEndpoint` (AZURE_OPENAI_ENDPOINT)",
      !apiKey && !clientOptions.azureADTokenProvider && "`apiKey` (AZURE_OPENAI_API_KEY)",
      !apiVersion && "`apiVersion` (OPENAI_API_VERSION)",
    ].filter(Boolean);
    if (missing.length) {
      throw new ConfigurationError(
        `AzureOpenAIServerModel "${this.modelId}": missing ${
          missing.join(", ")
        }; pass them, or an \`env\` holding them`,
      );
    }
    const base = this.baseClientOptions() as AzureClientOptions;
    // Explicit nulls keep the client from reading OPENAI_BASE_URL / AZURE_OPENAI_API_KEY from the environment.
    return new AzureOpenAI({
      ...base,
      ...clientOptions,
      baseURL: clientOptions.baseURL ?? null,
      endpoint: clientOptions.baseURL ? undefined : endpoint,
      apiKey: clientOptions.azureADTokenProvider ? null as unknown as undefined : apiKey,
      apiVersion,
      deployment: this.modelId,
      maxRetries: 0,
      timeout: base.timeout,
    });
  }
}
