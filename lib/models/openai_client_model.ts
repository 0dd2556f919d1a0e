/**
 * The base of every backend that talks through the `openai` npm client (OpenAIServerModel, AzureOpenAIServerModel,
 * LiteLLMModel, MLXModel): a subclass only says how to build its client. The wire format lives in
 * `openai_compatible.ts`; building requests, reading replies and streams, retries and errors in
 * `chat_completions_model.ts` (shared with InferenceClientModel). This class only sends through the client.
 */

import OpenAI, { type ClientOptions } from "openai";
import { ChatCompletionsModel, type StreamingChatRequestBody } from "./chat_completions_model.ts";
import { defaultClassify, type RetryDecision } from "./retry.ts";
import type { ChatRequestBody, WireChunk, WireCompletion } from "./openai_compatible.ts";
import type { RemoteModelOptions } from "./request_runner.ts";

export interface OpenAIClientModelSettings extends RemoteModelOptions {
  /** Backend name for error messages. */
  label: string;
  /** Model name sent as `model`. */
  modelId: string;
}

type NonStreaming = OpenAI.ChatCompletionCreateParamsNonStreaming;
type Streaming = OpenAI.ChatCompletionCreateParamsStreaming;

/** A chat model served through the OpenAI chat completions API by an `openai` client. */
export abstract class OpenAIClientModel extends ChatCompletionsModel {
  readonly #timeoutMs: number | undefined;
  #client: OpenAI | undefined;

  protected constructor(settings: OpenAIClientModelSettings) {
    super({ ...settings, classify, detail: errorDetail });
    this.#timeoutMs = settings.timeoutMs;
  }

  /** Builds the client once, at the first call; throw a `ConfigurationError` for missing settings. */
  protected abstract createClient(): OpenAI;

  protected sendRequest(body: ChatRequestBody, signal: AbortSignal | undefined): Promise<WireCompletion> {
    return this.#getClient().chat.completions.create(body as unknown as NonStreaming, { signal });
  }

  protected openStream(
    body: StreamingChatRequestBody,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<WireChunk>> {
    return this.#getClient().chat.completions.create(body as unknown as Streaming, { signal });
  }

  #getClient(): OpenAI {
    return this.#client ??= this.createClient();
  }

  /**
   * Client options every subclass starts from: no client-side retries (ours), our timeout, and explicit nulls so
   * the client never falls back to OPENAI_* environment variables.
   */
  protected baseClientOptions(clientOptions?: ClientOptions): ClientOptions {
    return {
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      logLevel: "warn",
      ...clientOptions,
      maxRetries: 0,
      timeout: this.#timeoutMs ?? clientOptions?.timeout,
    };
  }
}

/** `defaultClassify`, plus openai's connection errors and timeouts by class (names may be minified). */
function classify(error: unknown): RetryDecision {
  if (error instanceof OpenAI.APIConnectionError) return { retryable: true };
  return defaultClassify(error);
}

/** The server's own error message when there is one (openai prefixes it with the status). */
function errorDetail(error: unknown): string | undefined {
  const body = error instanceof OpenAI.APIError ? error.error : undefined;
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === "string" && message ? message : undefined;
}
