/**
 * `OpenAIServerModel`: any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, LM Studio, TGI,
 * OpenRouter...) through the `openai` npm client. Retries, Retry-After and rate limiting are ours (`retry.ts`).
 */

import OpenAI, { type ClientOptions } from "openai";
import type { ChatMessage, ChatMessageStreamDelta, ChatToolCall, ContentPart, TokenUsage } from "./chat_message.ts";
import type { GenerateOptions, Model } from "./model.ts";
import { ConfigurationError, ModelError } from "../errors.ts";
import {
  cutAtStopSequences,
  parseToolCallArguments,
  prepareMessages,
  type RoleConversions,
  supportsStopParameter,
} from "./message_utils.ts";
import { defaultClassify, RateLimiter, type RetryDecision, type RetryOptions, withRetry } from "./retry.ts";

export interface OpenAIServerModelOptions {
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
  /** Role mapping applied on top of tool-call -> assistant, tool-response -> user. */
  customRoleConversions?: RoleConversions;
  /** Send every message as plain text (images dropped), for text-only servers. Default false. */
  flattenMessagesAsText?: boolean;
  /** Spaces requests (each retry counts) to at most this many per minute. */
  requestsPerMinute?: number;
  /** Retries on 429 / 5xx / network errors / timeouts (default 4). */
  maxRetries?: number;
  /** Backoff tuning and an `onRetry` hook. */
  retry?: Omit<RetryOptions, "maxRetries" | "signal" | "classify">;
  /** Per-request timeout, each attempt (the client's default is 10 minutes). */
  timeoutMs?: number;
  /** Extra request fields (temperature, max_tokens, seed...); per-call options override them. */
  kwargs?: Record<string, unknown>;
}

type ToolCallDelta = NonNullable<ChatMessageStreamDelta["toolCalls"]>[number];
type Message = OpenAI.ChatCompletionMessageParam;
type ToolCall = OpenAI.ChatCompletionMessageToolCall;
type RequestBody = Record<string, unknown> & { model: string; messages: Message[] };
type NonStreaming = OpenAI.ChatCompletionCreateParamsNonStreaming;
type Streaming = OpenAI.ChatCompletionCreateParamsStreaming;

/** A chat model served through the OpenAI chat completions API. */
export class OpenAIServerModel implements Model {
  readonly modelId: string;
  readonly apiBase: string | undefined;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly #options: OpenAIServerModelOptions;
  readonly #limiter: RateLimiter | undefined;
  #client: OpenAI | undefined;

  constructor(options: OpenAIServerModelOptions) {
    if (!options?.modelId) throw new ConfigurationError("OpenAIServerModel: `modelId` is required");
    this.modelId = options.modelId;
    this.apiBase = options.apiBase;
    this.kwargs = { ...options.kwargs };
    this.#options = options;
    this.#limiter = options.requestsPerMinute ? new RateLimiter(options.requestsPerMinute) : undefined;
  }

  /** The request body for these messages and options (without streaming fields). */
  prepareRequest(messages: ChatMessage[], options: GenerateOptions = {}): RequestBody {
    const { customRoleConversions, flattenMessagesAsText } = this.#options;
    const prepared = prepareMessages(messages, { customRoleConversions, flattenMessagesAsText });
    const body: RequestBody = { ...this.kwargs, model: this.modelId, messages: prepared.map(toOpenAIMessage) };
    if (options.stopSequences?.length && supportsStopParameter(this.modelId)) body.stop = options.stopSequences;
    if (options.responseFormat !== undefined) body.response_format = options.responseFormat;
    if (options.tools?.length) {
      body.tools = options.tools.map(({ name, description, parameters }) => ({
        type: "function",
        function: { name, description, parameters },
      }));
      if (options.toolChoice) body.tool_choice = options.toolChoice;
    }
    return body;
  }

  async generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<ChatMessage> {
    const body = this.prepareRequest(messages, options) as unknown as NonStreaming;
    const response = await this.#send((client, signal) => client.chat.completions.create(body, { signal }), options);
    const reply = response.choices?.[0]?.message;
    if (!reply) {
      throw new ModelError(`OpenAIServerModel "${this.modelId}": the reply has no choices`, { modelId: this.modelId });
    }
    const text = reply.content;
    const message: ChatMessage = {
      role: "assistant",
      content: text == null ? null : cutAtStopSequences(text, options.stopSequences),
    };
    const toolCalls = (reply.tool_calls ?? []).flatMap(toToolCall);
    if (toolCalls.length) message.toolCalls = toolCalls;
    if (response.usage) message.tokenUsage = toUsage(response.usage);
    return message;
  }

  /** Streams deltas (usage arrives in the last one). Only opening the stream is retried. */
  async *generateStream(
    messages: ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<ChatMessageStreamDelta> {
    const streaming = { stream: true, stream_options: { include_usage: true } };
    const body = { ...this.prepareRequest(messages, options), ...streaming } as unknown as Streaming;
    const stream = await this.#send((client, signal) => client.chat.completions.create(body, { signal }), options);
    try {
      for await (const chunk of stream) {
        const delta = toStreamDelta(chunk);
        if (delta) yield delta;
      }
    } catch (error) {
      throw this.#failure(error, options.signal);
    }
  }

  /** One logical call: rate limit, then retries; a final failure becomes a `ModelError`. */
  async #send<T>(call: (client: OpenAI, signal?: AbortSignal) => Promise<T>, options: GenerateOptions): Promise<T> {
    const client = this.#getClient();
    const { signal } = options;
    const retry = { ...this.#options.retry, maxRetries: this.#options.maxRetries ?? 4, signal, classify };
    try {
      return await withRetry(async () => {
        await this.#limiter?.acquire(signal);
        return await call(client, signal);
      }, retry);
    } catch (error) {
      throw this.#failure(error, signal);
    }
  }

  #getClient(): OpenAI {
    if (this.#client) return this.#client;
    const { apiKey, apiBase, organization, project, clientOptions, timeoutMs } = this.#options;
    if (!apiKey && !clientOptions?.apiKey) {
      throw new ConfigurationError(
        `OpenAIServerModel "${this.modelId}": no API key; pass \`apiKey\` (e.g. from the OPENAI_API_KEY secret)`,
      );
    }
    // Explicit nulls keep the client from falling back to OPENAI_* environment variables.
    this.#client = new OpenAI({
      baseURL: apiBase ?? null,
      organization: organization ?? null,
      project: project ?? null,
      adminAPIKey: null,
      webhookSecret: null,
      logLevel: "warn",
      ...clientOptions,
      apiKey: apiKey ?? clientOptions?.apiKey,
      maxRetries: 0,
      timeout: timeoutMs ?? clientOptions?.timeout,
    });
    return this.#client;
  }

  /** Aborts surface as the signal's reason; everything else as a `ModelError` naming model, status and cause. */
  #failure(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof ModelError) return error;
    const { status, retryable } = classify(error);
    const http = status ? ` with HTTP ${status}` : "";
    const message = `OpenAIServerModel "${this.modelId}": request failed${http}: ${errorDetail(error)}`;
    return new ModelError(message, { modelId: this.modelId, status, retryable, cause: error });
  }
}

/** `defaultClassify`, plus openai's connection errors and timeouts by class (names may be minified). */
function classify(error: unknown): RetryDecision {
  if (error instanceof OpenAI.APIConnectionError) return { retryable: true };
  return defaultClassify(error);
}

/** The server's own error message when there is one (openai prefixes it with the status). */
function errorDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const body = error instanceof OpenAI.APIError ? error.error : undefined;
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === "string" && message ? message : error.message;
}

/** A function tool call with parsed arguments (other tool types, e.g. "custom", are skipped). */
function toToolCall(call: ToolCall): ChatToolCall[] {
  if (call.type !== "function") return [];
  const { name, arguments: raw } = call.function;
  return [{ id: call.id, type: "function", function: { name, arguments: parseToolCallArguments(raw) } }];
}

function toUsage(usage: OpenAI.CompletionUsage): TokenUsage {
  return { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
}

function toOpenAIMessage(message: ChatMessage): Message {
  const content = message.content == null
    ? ""
    : typeof message.content === "string"
    ? message.content
    : message.content.map(toOpenAIPart);
  return { role: message.role, content } as Message;
}

function toOpenAIPart(part: ContentPart): OpenAI.ChatCompletionContentPart {
  return part.type === "text"
    ? { type: "text", text: part.text }
    : { type: "image_url", image_url: { url: part.image } };
}

/** Our delta for one chunk, or undefined when the chunk carries nothing (e.g. the role-only first chunk). */
function toStreamDelta(chunk: OpenAI.ChatCompletionChunk): ChatMessageStreamDelta | undefined {
  const delta: ChatMessageStreamDelta = {};
  const choice = chunk.choices?.[0]?.delta;
  if (choice?.content) delta.content = choice.content;
  if (choice?.tool_calls?.length) {
    delta.toolCalls = choice.tool_calls.map((call) => {
      const { index, id, type, function: fn } = call;
      const piece: ToolCallDelta = { index };
      if (id) piece.id = id;
      if (type === "function") piece.type = type;
      if (fn) piece.function = withoutUndefined(fn);
      return piece;
    });
  }
  if (chunk.usage) delta.tokenUsage = toUsage(chunk.usage);
  return Object.keys(delta).length ? delta : undefined;
}

function withoutUndefined<T extends object>(value: T): T {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries) as T;
}
