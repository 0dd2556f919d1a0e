/**
 * The base of every backend that talks through the `openai` npm client (OpenAIServerModel, AzureOpenAIServerModel,
 * LiteLLMModel, MLXModel): a subclass only says how to build its client. The wire format lives in
 * `openai_compatible.ts`, retries and errors in `request_runner.ts`.
 */

import OpenAI, { type ClientOptions } from "openai";
import type { ChatMessage, ChatMessageStreamDelta } from "./chat_message.ts";
import type { GenerateOptions, Model } from "./model.ts";
import { defaultClassify, type RetryDecision } from "./retry.ts";
import {
  buildChatRequest,
  type ChatRequestBody,
  cutStreamAtStopSequences,
  STREAM_FIELDS,
  toChatMessage,
  toStreamDelta,
} from "./openai_compatible.ts";
import { type RemoteModelOptions, RequestRunner } from "./request_runner.ts";

export interface OpenAIClientModelSettings extends RemoteModelOptions {
  /** Backend name for error messages. */
  label: string;
  /** Model name sent as `model`. */
  modelId: string;
}

type NonStreaming = OpenAI.ChatCompletionCreateParamsNonStreaming;
type Streaming = OpenAI.ChatCompletionCreateParamsStreaming;

/** A chat model served through the OpenAI chat completions API by an `openai` client. */
export abstract class OpenAIClientModel implements Model {
  readonly modelId: string;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly #settings: OpenAIClientModelSettings;
  readonly #runner: RequestRunner;
  #client: OpenAI | undefined;

  protected constructor(settings: OpenAIClientModelSettings) {
    this.modelId = settings.modelId;
    this.kwargs = { ...settings.kwargs };
    this.#settings = settings;
    this.#runner = new RequestRunner({ ...settings, classify, detail: errorDetail });
  }

  /** Builds the client once, at the first call; throw a `ConfigurationError` for missing settings. */
  protected abstract createClient(): OpenAI;

  /** The name sent as `model` (LiteLLM strips its provider prefix). */
  protected get requestModel(): string {
    return this.modelId;
  }

  /** The request body for these messages and options (without streaming fields). */
  prepareRequest(messages: ChatMessage[], options: GenerateOptions = {}): ChatRequestBody {
    const { customRoleConversions, flattenMessagesAsText } = this.#settings;
    return buildChatRequest(messages, options, {
      model: this.requestModel,
      customRoleConversions,
      flattenMessagesAsText,
      kwargs: this.kwargs,
    });
  }

  async generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<ChatMessage> {
    const body = this.prepareRequest(messages, options) as unknown as NonStreaming;
    const client = this.#getClient();
    const attempt = (signal?: AbortSignal) => client.chat.completions.create(body, { signal });
    const reply = await this.#runner.send(attempt, options.signal, options.onRetry);
    const message = toChatMessage(reply, options.stopSequences);
    if (!message) throw this.#runner.badReply("the reply has no choices");
    return message;
  }

  /** Streams deltas (usage arrives in the last one). Only opening the stream is retried. */
  async *generateStream(
    messages: ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<ChatMessageStreamDelta> {
    const body = { ...this.prepareRequest(messages, options), ...STREAM_FIELDS } as unknown as Streaming;
    const open = (signal?: AbortSignal) => this.#getClient().chat.completions.create(body, { signal });
    const deltas = this.#runner.stream(open, toStreamDelta, options.signal, options.onRetry);
    yield* cutStreamAtStopSequences(deltas, options.stopSequences);
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
      timeout: this.#settings.timeoutMs ?? clientOptions?.timeout,
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
