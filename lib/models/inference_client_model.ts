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
import type { ChatMessage, ChatMessageStreamDelta } from "./chat_message.ts";
import type { GenerateOptions, Model } from "./model.ts";
import { ConfigurationError } from "../errors.ts";
import {
  buildChatRequest,
  type ChatRequestBody,
  cutStreamAtStopSequences,
  STREAM_FIELDS,
  toChatMessage,
  toStreamDelta,
  type WireChunk,
} from "./openai_compatible.ts";
import { type RemoteModelOptions, RequestRunner, timeoutInMs } from "./request_runner.ts";

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
  /** Seconds per attempt until the response starts (default 120). `timeoutMs` is accepted too. */
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
export class InferenceClientModel implements Model {
  readonly modelId: string;
  /** The provider or policy used with the router; undefined when `baseUrl` is set. */
  readonly provider: string | undefined;
  readonly baseUrl: string | undefined;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  readonly #options: InferenceClientModelOptions;
  readonly #token: string | undefined;
  readonly #runner: RequestRunner;
  #client: InferenceClient | undefined;

  constructor(options: InferenceClientModelOptions = {}) {
    if (options.token !== undefined && options.apiKey !== undefined) {
      throw new ConfigurationError("InferenceClientModel: pass `token` or `apiKey`, not both");
    }
    this.modelId = options.modelId ?? DEFAULT_INFERENCE_CLIENT_MODEL_ID;
    this.baseUrl = options.baseUrl ?? (/^https?:\/\//.test(this.modelId) ? this.modelId : undefined);
    this.provider = this.baseUrl ? undefined : options.provider ?? "auto";
    this.kwargs = { ...options.kwargs };
    this.timeoutMs = timeoutInMs("InferenceClientModel", options, 120_000)!;
    this.#options = options;
    this.#token = options.token ?? options.apiKey;
    this.#runner = new RequestRunner({ ...options, label: "InferenceClientModel", modelId: this.modelId, detail });
  }

  /** The request body for these messages and options (without streaming fields). */
  prepareRequest(messages: ChatMessage[], options: GenerateOptions = {}): ChatRequestBody {
    const { customRoleConversions, flattenMessagesAsText } = this.#options;
    return buildChatRequest(messages, options, {
      model: this.modelId,
      customRoleConversions,
      flattenMessagesAsText,
      kwargs: this.kwargs,
    });
  }

  async generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<ChatMessage> {
    const args = this.#args(this.prepareRequest(messages, options));
    const client = this.#getClient();
    const reply = await this.#runner.send(
      (signal) => this.#attempt(signal, (requestOptions) => client.chatCompletion(args, requestOptions)),
      options.signal,
      options.onRetry,
    );
    const message = toChatMessage(reply, options.stopSequences);
    if (!message) throw this.#runner.badReply("the reply has no choices");
    return message;
  }

  /** Streams deltas (usage arrives in the last one). Only opening the stream is retried. */
  async *generateStream(
    messages: ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<ChatMessageStreamDelta> {
    const args = this.#args({ ...this.prepareRequest(messages, options), ...STREAM_FIELDS });
    // Ends the response body when the consumer stops early.
    const done = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
    const open = (attemptSignal: AbortSignal | undefined) =>
      this.#attempt(
        attemptSignal,
        (requestOptions) => started(this.#getClient().chatCompletionStream(args, requestOptions)),
      );
    try {
      const deltas = this.#runner.stream<WireChunk>(open, toStreamDelta, signal, options.onRetry);
      yield* cutStreamAtStopSequences(deltas, options.stopSequences);
    } finally {
      done.abort();
    }
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
   * One attempt: the client's own retries are off, each fetch gets our timeout until its response starts, and an
   * HTTP failure keeps its status and headers (for Retry-After). Input and routing errors are configuration errors.
   */
  async #attempt<T>(signal: AbortSignal | undefined, call: (options: HfOptions) => Promise<T>): Promise<T> {
    const baseFetch = this.#options.clientOptions?.fetch ?? fetch;
    const { timeoutMs } = this;
    let failed: Response | undefined;
    const timedFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const timer = new AbortController();
      const reason = () => new DOMException(`request timed out after ${timeoutMs} ms`, "TimeoutError");
      const id = setTimeout(() => timer.abort(reason()), timeoutMs);
      try {
        const combined = init?.signal ? AbortSignal.any([init.signal, timer.signal]) : timer.signal;
        const response = await baseFetch(input, { ...init, signal: combined });
        if (!response.ok) failed = response;
        return response;
      } finally {
        clearTimeout(id);
      }
    };
    const { billTo, clientOptions } = this.#options;
    try {
      return await call({ ...clientOptions, billTo, signal, fetch: timedFetch as typeof fetch, retry_on_error: false });
    } catch (error) {
      if (error instanceof InferenceClientInputError || error instanceof InferenceClientRoutingError) {
        throw new ConfigurationError(`InferenceClientModel "${this.modelId}": ${error.message}`, { cause: error });
      }
      throw failed ? new HttpFailure(error, failed) : error;
    }
  }
}

/** A failed HTTP response as `defaultClassify` reads it: `status` and `headers` (Retry-After). */
class HttpFailure extends Error {
  override name = "HttpFailure";
  readonly status: number;
  readonly headers: Headers;
  constructor(cause: unknown, response: Response) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.status = response.status;
    this.headers = response.headers;
  }
}

/** The server's own message from a provider error body (`{error: "..."}`, `{error: {message}}`, `{message}`). */
function detail(error: unknown): string | undefined {
  const source = error instanceof HttpFailure ? error.cause : error;
  const body = (source as Partial<InferenceClientProviderApiError> | undefined)?.httpResponse?.body;
  if (typeof body !== "object" || body === null) return undefined;
  const { error: inner, message } = body as { error?: unknown; message?: unknown };
  if (typeof inner === "string") return inner;
  const innerMessage = (inner as { message?: unknown } | undefined)?.message;
  if (typeof innerMessage === "string") return innerMessage;
  return typeof message === "string" ? message : undefined;
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
