/**
 * `InferenceClientModel`: Hugging Face Inference Providers (through the router) or a dedicated endpoint / any
 * OpenAI-compatible URL, with `@huggingface/inference`'s `InferenceClient` chat completion. What the client sends:
 *
 * - provider "auto" (default): POST https://router.huggingface.co/v1/chat/completions, `model` = the Hub id.
 * - another provider, e.g. "together": GET https://huggingface.co/api/models/{id}?expand[]=inferenceProviderMapping
 *   once per id and process (the provider's own model name), then POST
 *   https://router.huggingface.co/{provider}/{provider's route, e.g. v1/chat/completions}. With a token that does
 *   not start with "hf_" (a provider's own key) the client calls the provider directly instead of the router.
 * - `baseUrl`: POST {baseUrl}/chat/completions when it ends in /v1, the URL itself when it ends in /chat/completions,
 *   else {baseUrl}/v1/chat/completions; `model` = `modelId`; `provider` is unused.
 *
 * Headers: `Authorization: Bearer {token}` (none without a token), `Content-Type: application/json`,
 * `User-Agent: @huggingface/inference/{version} ...`, and `X-HF-Bill-To` with `billTo`.
 */

import {
  InferenceClient,
  InferenceClientInputError,
  type InferenceClientProviderApiError,
  InferenceClientRoutingError,
  type InferenceProviderOrPolicy,
  type Options as HfOptions,
} from "@huggingface/inference";
import { ConfigurationError } from "../errors.ts";
import { ChatCompletionsModel, type StreamingChatRequestBody } from "./chat_completions_model.ts";
import type { ChatRequestBody, WireChunk, WireCompletion } from "./openai_compatible.ts";
import { HttpFailure, serverMessage } from "./http_failure.ts";
import { attemptTimer, type RemoteModelOptions, timeoutInMs } from "./request_runner.ts";

/** smolagents' default model (it may change there; it is pinned here). */
export const DEFAULT_INFERENCE_CLIENT_MODEL_ID = "Qwen/Qwen2.5-Coder-32B-Instruct";

export interface InferenceClientModelOptions extends RemoteModelOptions {
  /** A Hub model id (default `DEFAULT_INFERENCE_CLIENT_MODEL_ID`), or the URL of an endpoint (as `baseUrl`). */
  modelId?: string;
  /** An Inference Provider ("together", "groq", "hf-inference"...) or "auto" (default): the first of the user's. */
  provider?: string;
  /** A Hugging Face token (pass HF_TOKEN: the library never reads env), or a provider's own key. */
  token?: string;
  /** Same as `token` (OpenAI-style name); giving both is an error. */
  apiKey?: string;
  /** Seconds per attempt: a whole reply, a stream until it starts (default 120). `timeoutMs` is accepted too. */
  timeout?: number;
  /** Bill an organization (Enterprise Hub) instead of the user: sent as `X-HF-Bill-To`. */
  billTo?: string;
  /** A dedicated Inference Endpoint, a local TGI / vLLM, or any OpenAI-compatible URL; `provider` is then unused. */
  baseUrl?: string;
  /** `InferenceClient` request options, e.g. `fetch` or `includeCredentials`. */
  clientOptions?: Omit<HfOptions, "signal" | "retry_on_error" | "billTo">;
}

type ChatArgs = Parameters<InferenceClient["chatCompletion"]>[0];

/** A chat model behind Hugging Face Inference Providers or an inference endpoint. */
export class InferenceClientModel extends ChatCompletionsModel {
  /** The provider or policy used with the router; undefined when `baseUrl` is set. */
  readonly provider: string | undefined;
  readonly baseUrl: string | undefined;
  readonly timeoutMs: number;
  readonly #options: InferenceClientModelOptions;
  readonly #token: string | undefined;
  #client: InferenceClient | undefined;

  constructor(options: InferenceClientModelOptions = {}) {
    if (options.token !== undefined && options.apiKey !== undefined) {
      throw new ConfigurationError("InferenceClientModel: pass `token` or `apiKey`, not both");
    }
    const modelId = options.modelId ?? DEFAULT_INFERENCE_CLIENT_MODEL_ID;
    const timeoutMs = timeoutInMs("InferenceClientModel", options, 120_000)!;
    super({ ...options, timeoutMs, label: "InferenceClientModel", modelId, detail });
    this.baseUrl = options.baseUrl ?? (/^https?:\/\//.test(this.modelId) ? this.modelId : undefined);
    this.provider = this.baseUrl ? undefined : options.provider ?? "auto";
    this.timeoutMs = timeoutMs;
    this.#options = options;
    this.#token = options.token ?? options.apiKey;
  }

  protected sendRequest(body: ChatRequestBody, signal: AbortSignal | undefined): Promise<WireCompletion> {
    const args = this.#args(body);
    return this.#attempt(signal, true, (requestOptions) => this.#getClient().chatCompletion(args, requestOptions));
  }

  protected openStream(
    body: StreamingChatRequestBody,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<WireChunk>> {
    const args = this.#args(body);
    return this.#attempt(
      signal,
      false,
      (requestOptions) => started(this.#getClient().chatCompletionStream(args, requestOptions)),
    );
  }

  /** The client arguments: the body, plus the route (endpoint, or model and provider for the router). */
  #args(body: ChatRequestBody): ChatArgs {
    const { model, ...rest } = body;
    const route = this.baseUrl
      ? { endpointUrl: this.baseUrl, ...(this.baseUrl === model ? {} : { model }) }
      : { model, provider: this.provider as InferenceProviderOrPolicy };
    return { ...rest, ...route } as ChatArgs;
  }

  #getClient(): InferenceClient {
    if (this.#client) return this.#client;
    if (!this.#token && !this.baseUrl) {
      throw new ConfigurationError(
        `InferenceClientModel "${this.modelId}": no token; pass \`token\` (e.g. from the HF_TOKEN secret)`,
      );
    }
    return this.#client = new InferenceClient(this.#token ?? "");
  }

  /**
   * One attempt: the client's own retries are off, and an HTTP failure keeps its status and headers (for
   * Retry-After). `timeoutMs` bounds a whole reply (`whole`: headers and body, as OpenAIServerModel times one, so
   * a server that stalls mid-body is retried), and a stream until it starts. Input and routing errors are
   * configuration errors.
   */
  async #attempt<T>(
    signal: AbortSignal | undefined,
    whole: boolean,
    call: (options: HfOptions) => Promise<T>,
  ): Promise<T> {
    const baseFetch = this.#options.clientOptions?.fetch ?? fetch;
    const { timeoutMs } = this;
    const attempt = whole ? attemptTimer(timeoutMs) : undefined;
    let failed: Response | undefined;
    const timedFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const timer = attempt ?? attemptTimer(timeoutMs);
      try {
        const combined = init?.signal ? AbortSignal.any([init.signal, timer.signal]) : timer.signal;
        const response = await baseFetch(input, { ...init, signal: combined });
        if (!response.ok) failed = response;
        return response;
      } finally {
        if (!attempt) timer.clear();
      }
    };
    const { billTo, clientOptions } = this.#options;
    try {
      return await call({ ...clientOptions, billTo, signal, fetch: timedFetch as typeof fetch, retry_on_error: false });
    } catch (error) {
      // Timed out while the client read the body: fail as a timeout (retryable), whatever the client made of it.
      if (attempt?.signal.aborted && !signal?.aborted) throw attempt.signal.reason;
      if (error instanceof InferenceClientInputError || error instanceof InferenceClientRoutingError) {
        throw new ConfigurationError(`InferenceClientModel "${this.modelId}": ${error.message}`, { cause: error });
      }
      if (!failed) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new HttpFailure(failed, { message, cause: error, body: providerBody(error) });
    } finally {
      attempt?.clear();
    }
  }
}

/** The server's own message from a provider error body (`{error: "..."}`, `{error: {message}}`, `{message}`). */
function detail(error: unknown): string | undefined {
  if (error instanceof HttpFailure) return error.detail;
  return serverMessage(providerBody(error));
}

/** The parsed body of a provider's error response, as `@huggingface/inference` keeps it. */
function providerBody(error: unknown): unknown {
  return (error as Partial<InferenceClientProviderApiError> | undefined)?.httpResponse?.body;
}

/** Starts a lazy stream (its first chunk makes the request), so errors on opening surface here and can be retried. */
async function started<T>(stream: AsyncGenerator<T>): Promise<AsyncIterable<T>> {
  const first = await stream.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* stream;
  })();
}
