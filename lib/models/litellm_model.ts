/**
 * `LiteLLMModel`: LiteLLM-style "provider/model" ids without the Python LiteLLM. Each provider in
 * `litellm_providers.ts` is reached at its OpenAI-compatible endpoint (over `fetch`); with `apiBase`,
 * requests go to a LiteLLM proxy instead and the full id is sent as the model.
 */

import { ConfigurationError } from "../errors.ts";
import { type ChatEndpoint, OpenAIClientModel, type OpenAIClientOptions } from "./openai_client_model.ts";
import type { RemoteModelOptions } from "./request_runner.ts";
import { LITELLM_PROVIDERS, LITELLM_UNPREFIXED } from "./litellm_providers.ts";

export interface LiteLLMModelOptions extends RemoteModelOptions {
  /** "provider/model", e.g. "groq/llama-3.3-70b-versatile", "anthropic/claude-3-5-sonnet-latest", "gpt-4o". */
  modelId: string;
  /**
   * A LiteLLM proxy URL: the full id is sent as the model. For self-hosted providers (ollama, ollama_chat,
   * lm_studio, hosted_vllm, litellm_proxy) it is that server's URL instead ("/v1" is added to a bare origin) and
   * the prefix is stripped, as LiteLLM does.
   */
  apiBase?: string;
  /** The provider's key; otherwise read from `env` under the provider's variable (see the provider table). */
  apiKey?: string;
  /** Where keys are looked up (e.g. `Deno.env.toObject()` or a Workers `env`); the library never reads env itself. */
  env?: Record<string, string | undefined>;
  /** Base URL per provider prefix, overriding the table or adding a provider (e.g. a regional endpoint). */
  providerBaseUrls?: Record<string, string>;
  /**
   * Send plain-text messages. Default: true for ollama, groq and cerebras ids (as smolagents), false otherwise.
   */
  flattenMessagesAsText?: boolean;
  /** Transport settings named as in the `openai` package (e.g. `defaultHeaders`, `fetch`). */
  clientOptions?: OpenAIClientOptions;
}

/** Where a LiteLLMModel sends its requests. */
export interface LiteLLMRoute {
  /** The provider prefix used, or undefined for a LiteLLM proxy. */
  provider: string | undefined;
  baseUrl: string;
  /** Sent as `model`. */
  model: string;
  /** Variables the key is read from when `apiKey` is not given. */
  apiKeyEnv: readonly string[];
  /** False for local servers and proxies, which are called without a key when none is given. */
  keyRequired: boolean;
}

/** Resolves a model id (and `apiBase` / `providerBaseUrls`) to a route; throws a `ConfigurationError` if it can't. */
export function resolveLiteLLMRoute(
  modelId: string,
  options: Pick<LiteLLMModelOptions, "apiBase" | "providerBaseUrls"> = {},
): LiteLLMRoute {
  const { apiBase, providerBaseUrls = {} } = options;
  const slash = modelId.indexOf("/");
  const prefix = slash > 0 ? modelId.slice(0, slash) : undefined;
  const known = prefix !== undefined && (prefix in LITELLM_PROVIDERS || prefix in providerBaseUrls);
  const rest = known ? modelId.slice(slash + 1) : modelId;
  const entry = known ? LITELLM_PROVIDERS[prefix] : undefined;
  if (apiBase) {
    if (entry?.selfHosted) {
      return {
        provider: prefix,
        baseUrl: withApiPath(apiBase),
        model: rest,
        apiKeyEnv: entry.apiKeyEnv,
        keyRequired: false,
      };
    }
    return {
      provider: undefined,
      baseUrl: apiBase,
      model: modelId,
      apiKeyEnv: ["LITELLM_PROXY_API_KEY"],
      keyRequired: false,
    };
  }
  const provider = known ? prefix : prefix === undefined ? inferProvider(modelId) : undefined;
  if (!provider) {
    throw new ConfigurationError(
      `LiteLLMModel: cannot route "${modelId}": use "provider/model" with a provider among ` +
        `${Object.keys(LITELLM_PROVIDERS).join(", ")}, add it to \`providerBaseUrls\`, or pass a proxy \`apiBase\``,
    );
  }
  const route = LITELLM_PROVIDERS[provider] ?? { apiKeyEnv: [] };
  const baseUrl = providerBaseUrls[provider] ?? route.baseUrl;
  if (!baseUrl) throw new ConfigurationError(`LiteLLMModel: "${modelId}" needs \`apiBase\` (the server's URL)`);
  const model = provider === "huggingface" ? huggingFaceRouterModel(rest) : rest;
  return {
    provider,
    baseUrl,
    model,
    apiKeyEnv: route.apiKeyEnv,
    keyRequired: !route.selfHosted && !!route.apiKeyEnv.length,
  };
}

function inferProvider(modelId: string): string | undefined {
  return LITELLM_UNPREFIXED.find(([pattern]) => pattern.test(modelId))?.[1];
}

/** LiteLLM's "huggingface/{provider}/{org}/{model}" becomes the router's "{org}/{model}:{provider}". */
function huggingFaceRouterModel(rest: string): string {
  const parts = rest.split("/");
  return parts.length === 3 && !rest.includes(":") ? `${parts[1]}/${parts[2]}:${parts[0]}` : rest;
}

/**
 * A bare origin ("http://localhost:11434") gets "/v1", where OpenAI-compatible servers listen; a query string stays
 * after it ("http://gpu:11434?tenant=a" is "http://gpu:11434/v1?tenant=a").
 */
function withApiPath(url: string): string {
  const parsed = new URL(url);
  if (!/^\/*$/.test(parsed.pathname)) return url.replace(/\/+$/, "");
  parsed.pathname = "/v1";
  return parsed.href;
}

/** A model reached through a LiteLLM-style "provider/model" id. */
export class LiteLLMModel extends OpenAIClientModel {
  readonly route: LiteLLMRoute;
  readonly #options: LiteLLMModelOptions;

  constructor(options: LiteLLMModelOptions) {
    if (!options?.modelId) throw new ConfigurationError("LiteLLMModel: `modelId` is required");
    const route = resolveLiteLLMRoute(options.modelId, options);
    const prefix = options.modelId.split("/")[0];
    const flattenMessagesAsText = options.flattenMessagesAsText ??
      LITELLM_PROVIDERS[prefix]?.flattenMessagesAsText ?? false;
    super({ ...options, flattenMessagesAsText, label: "LiteLLMModel" });
    this.route = route;
    this.#options = options;
  }

  protected override get requestModel(): string {
    return this.route.model;
  }

  protected endpoint(): ChatEndpoint {
    const { env = {}, clientOptions } = this.#options;
    const { apiKeyEnv, keyRequired, baseUrl } = this.route;
    const apiKey = this.#options.apiKey ?? clientOptions?.apiKey ?? apiKeyEnv.map((name) => env[name]).find(Boolean);
    if (!apiKey && keyRequired) {
      throw new ConfigurationError(
        `LiteLLMModel "${this.modelId}": no API key; pass \`apiKey\`, or an \`env\` holding ${apiKeyEnv.join(" or ")}`,
      );
    }
    return this.bearerEndpoint(baseUrl, apiKey);
  }
}
