/**
 * The base of every backend that speaks the OpenAI chat completions format (`OpenAIClientModel` and its subclasses,
 * `InferenceClientModel` and `HfApiEngine`). It owns everything but the transport: the request body (messages,
 * tools, `stop` where `supportsStopParameter` allows it, response format), the reply as a `ChatMessage` (tool calls,
 * token usage, stop sequences applied), streamed deltas, rate limiting, retries and error mapping (`ModelError`).
 * A backend supplies only how one attempt is sent (`sendRequest`) and how a stream is opened (`openStream`), plus,
 * optionally, how its client's errors are classified and where their server message lies.
 */

import type { ChatMessage, ChatMessageStreamDelta } from "./chat_message.ts";
import type { GenerateOptions, Model } from "./model.ts";
import {
  buildChatRequest,
  type ChatRequestBody,
  cutStreamAtStopSequences,
  STREAM_FIELDS,
  toChatMessage,
  toStreamDelta,
  type WireChunk,
  type WireCompletion,
} from "./openai_compatible.ts";
import { IdleTimer, type RemoteModelOptions, RequestRunner, type RequestRunnerOptions } from "./request_runner.ts";

/** A request body with the streaming fields set. */
export type StreamingChatRequestBody = ChatRequestBody & typeof STREAM_FIELDS;

export interface ChatCompletionsModelSettings
  extends RemoteModelOptions, Pick<RequestRunnerOptions, "classify" | "detail"> {
  /** Backend name for error messages, e.g. "OpenAIServerModel". */
  label: string;
  /** The model's id (also sent as `model` unless `requestModel` says otherwise). */
  modelId: string;
}

/** A chat model behind an OpenAI-compatible chat completions API; subclasses say how a request is sent. */
export abstract class ChatCompletionsModel implements Model {
  readonly modelId: string;
  /** Extra request fields sent with every call (the fields computed from messages and options win). */
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly #settings: ChatCompletionsModelSettings;
  readonly #runner: RequestRunner;

  protected constructor(settings: ChatCompletionsModelSettings) {
    this.modelId = settings.modelId;
    this.kwargs = { ...settings.kwargs };
    this.#settings = settings;
    this.#runner = new RequestRunner(settings);
  }

  /** One attempt of a call: resolves with the parsed reply, or throws what the transport threw. */
  protected abstract sendRequest(body: ChatRequestBody, signal: AbortSignal | undefined): Promise<WireCompletion>;

  /** Opens a stream: resolves once the response has started (so failures to open are retried), yields chunks. */
  protected abstract openStream(
    body: StreamingChatRequestBody,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<WireChunk>>;

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
    const body = this.prepareRequest(messages, options);
    const reply = await this.#runner.send((signal) => this.sendRequest(body, signal), options.signal, options.onRetry);
    const message = toChatMessage(reply, options.stopSequences);
    if (!message) throw this.#runner.badReply("the reply has no choices");
    return message;
  }

  /**
   * Streams deltas (usage arrives in the last one). Only opening the stream is retried. When the consumer stops
   * early, the signal given to `openStream` aborts, so the response body is released. Once the stream has started, one
   * that sends nothing for `timeoutMs` fails with a `TimeoutError` (as the Python clients' read timeout), so a server
   * that stalls mid-reply cannot hold a call that has no signal of its own.
   */
  async *generateStream(
    messages: ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<ChatMessageStreamDelta> {
    const body: StreamingChatRequestBody = { ...this.prepareRequest(messages, options), ...STREAM_FIELDS };
    const done = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
    try {
      const { timeoutMs } = this.#settings;
      const open = async (attempt: AbortSignal | undefined) => {
        if (!timeoutMs) return await this.openStream(body, attempt);
        const idle = new AbortController();
        const chunks = await this.openStream(body, attempt ? AbortSignal.any([attempt, idle.signal]) : idle.signal);
        return whileNotIdle(chunks, new IdleTimer(timeoutMs, idle));
      };
      const deltas = this.#runner.stream(
        open,
        toStreamDelta,
        signal,
        options.onRetry,
      );
      yield* cutStreamAtStopSequences(deltas, options.stopSequences);
    } finally {
      done.abort();
    }
  }
}

/** `chunks`, each one touching `idle`, which stops when the stream ends or is left. */
async function* whileNotIdle<C>(chunks: AsyncIterable<C>, idle: IdleTimer): AsyncGenerator<C> {
  try {
    for await (const chunk of chunks) {
      idle.touch();
      yield chunk;
    }
  } finally {
    idle.stop();
  }
}
