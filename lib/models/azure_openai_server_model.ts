/**
 * `AzureOpenAIServerModel`: an Azure OpenAI deployment, addressed as the `openai` package's `AzureOpenAI` client
 * does. Requests go to `{azureEndpoint}/openai/deployments/{modelId}/chat/completions?api-version={apiVersion}`
 * (with `clientOptions.baseURL`: `{baseURL}/deployments/{modelId}/chat/completions`, or `{baseURL}/chat/completions`
 * when it already names a deployment) with an `api-key` header and redirects not followed (the key is not sent on),
 * or an Entra ID token from `azureADTokenProvider` as a bearer token, fetched for each request.
 */

import { ConfigurationError } from "../errors.ts";
import { type ChatEndpoint, joinApiPath, OpenAIClientModel, type OpenAIClientOptions } from "./openai_client_model.ts";

/** `AzureOpenAIServerModel`'s transport settings: the shared ones, and an Entra ID token provider. */
export interface AzureClientOptions extends Omit<OpenAIClientOptions, "apiKey" | "organization" | "project"> {
  /** Returns a fresh Microsoft Entra ID access token for each request; used instead of an API key. */
  azureADTokenProvider?: () => Promise<string>;
}
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
  /** Transport settings (e.g. `azureADTokenProvider`, `fetch`, `defaultHeaders`), named as in `AzureOpenAI`. */
  clientOptions?: AzureClientOptions;
}

/** A chat model served by an Azure OpenAI deployment. */
export class AzureOpenAIServerModel extends OpenAIClientModel {
  readonly #options: AzureOpenAIServerModelOptions;

  constructor(options: AzureOpenAIServerModelOptions) {
    if (!options?.modelId) {
      throw new ConfigurationError("AzureOpenAIServerModel: `modelId` (the deployment name) is required");
    }
    const { clientOptions } = options;
    // As `AzureOpenAI`: with a token provider there is no long-lived key to expose, so a browser may call.
    const browser = clientOptions?.azureADTokenProvider ? { dangerouslyAllowBrowser: true } : {};
    super({ ...options, clientOptions: { ...browser, ...clientOptions }, label: "AzureOpenAIServerModel" });
    this.#options = options;
  }

  /** The endpoint in use (explicit or from `env`), if any. */
  get azureEndpoint(): string | undefined {
    return this.#options.azureEndpoint ?? this.#options.env?.AZURE_OPENAI_ENDPOINT;
  }

  protected endpoint(): ChatEndpoint {
    const { env = {}, clientOptions = {} } = this.#options;
    const endpoint = this.azureEndpoint;
    const apiKey = this.#options.apiKey ?? env.AZURE_OPENAI_API_KEY;
    const apiVersion = this.#options.apiVersion ?? env.OPENAI_API_VERSION;
    const tokenProvider = clientOptions.azureADTokenProvider;
    const missing = [
      !endpoint && !clientOptions.baseURL && "`azureEndpoint` (AZURE_OPENAI_ENDPOINT)",
      !apiKey && !tokenProvider && "`apiKey` (AZURE_OPENAI_API_KEY)",
      !apiVersion && "`apiVersion` (OPENAI_API_VERSION)",
    ].filter(Boolean);
    if (missing.length) {
      throw new ConfigurationError(
        `AzureOpenAIServerModel "${this.modelId}": missing ${
          missing.join(", ")
        }; pass them, or an \`env\` holding them`,
      );
    }
    const base = clientOptions.baseURL ?? joinApiPath(endpoint!, "/openai");
    const deployment = namesDeployment(base) ? "" : `/deployments/${encodeURIComponent(this.modelId)}`;
    const url = joinApiPath(base, `${deployment}/chat/completions`);
    const query = { "api-version": apiVersion! };
    if (tokenProvider) {
      const freshHeaders = async () => ({ authorization: `Bearer ${await tokenProvider()}` });
      return this.customEndpoint(url, {}, { credentialed: true, query, freshHeaders });
    }
    return this.customEndpoint(url, { "api-key": apiKey! }, { credentialed: true, query, redirect: "manual" });
  }
}

/** Whether a base URL already routes through a `/deployments` path segment (then none is added, as `AzureOpenAI`). */
function namesDeployment(baseURL: string): boolean {
  return new URL(baseURL).pathname.split("/").includes("deployments");
}
