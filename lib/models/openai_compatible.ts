/**
 * The OpenAI chat completions wire format, shared by every backend that speaks it: OpenAI and compatible servers,
 * Azure OpenAI, LiteLLM routes, mlx_lm.server, and Hugging Face's InferenceClient (its chat completion is the same
 * format). Pure functions: request bodies, replies, stream chunks, and stop sequences applied to streams.
 */

import type { ChatMessage, ChatMessageStreamDelta, ChatToolCall, ContentPart, TokenUsage } from "./chat_message.ts";
import type { GenerateOptions } from "./model.ts";
import {
  cutAtStopSequences,
  parseToolCallArguments,
  prepareMessages,
  type RoleConversions,
  supportsStopParameter,
} from "./message_utils.ts";

export type WirePart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };
export interface WireMessage {
  role: string;
  content: string | WirePart[];
}

/** A chat completions request body (without the streaming fields). */
export type ChatRequestBody = Record<string, unknown> & { model: string; messages: WireMessage[] };

export interface ChatRequestSettings {
  /** Sent as `model`. */
  model: string;
  customRoleConversions?: RoleConversions;
  flattenMessagesAsText?: boolean;
  /** Extra request fields; the fields computed here win over them. */
  kwargs?: Readonly<Record<string, unknown>>;
  /**
   * Leave `stop` out; replies are cut client-side anyway. Default: left out for models known to reject it
   * (`supportsStopParameter`).
   */
  omitStop?: boolean;
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}
interface WireToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: unknown };
}
/** The parts of a chat completion this module reads (the `openai` and `@huggingface/inference` types fit). */
export interface WireCompletion {
  choices?: Array<{ message?: { content?: string | null; tool_calls?: WireToolCall[] | null } }>;
  usage?: WireUsage | null;
}
interface WireToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}
/** The parts of a streamed chunk this module reads. */
export interface WireChunk {
  choices?: Array<{ delta?: { content?: string | null; tool_calls?: WireToolCallDelta[] | null } }>;
  usage?: WireUsage | null;
}

/** Streaming fields added to a body: `stream` and a final usage chunk. */
export const STREAM_FIELDS = Object.freeze({ stream: true, stream_options: Object.freeze({ include_usage: true }) });

/**
 * The request body for these messages and options. `responseFormat` is sent as `response_format`; `grammar`
 * (transformers-agents' constrained output, e.g. TGI's `{type: "json" | "regex", value}`) is sent the same way when
 * no `responseFormat` is given.
 */
export function buildChatRequest(
  messages: readonly ChatMessage[],
  options: GenerateOptions,
  settings: ChatRequestSettings,
): ChatRequestBody {
  const { customRoleConversions, flattenMessagesAsText } = settings;
  const prepared = prepareMessages(messages, { customRoleConversions, flattenMessagesAsText });
  // `prepared` holds fresh `{ role, content }` objects: one with text content is its own wire message.
  const wire = prepared.map((message) =>
    typeof message.content === "string" ? message as WireMessage : toWireMessage(message)
  );
  const body: ChatRequestBody = { ...settings.kwargs, model: settings.model, messages: wire };
  const omitStop = settings.omitStop ?? !supportsStopParameter(settings.model);
  if (options.stopSequences?.length && !omitStop) body.stop = [...options.stopSequences];
  const responseFormat = options.responseFormat ?? options.grammar;
  if (responseFormat !== undefined) body.response_format = responseFormat;
  if (options.tools?.length) {
    body.tools = options.tools.map(({ name, description, parameters }) => ({
      type: "function",
      function: { name, description, parameters },
    }));
    if (options.toolChoice) body.tool_choice = options.toolChoice;
  }
  return body;
}

export function toWireMessage(message: ChatMessage): WireMessage {
  const { role, content } = message;
  if (content == null) return { role, content: "" };
  return { role, content: typeof content === "string" ? content : content.map(toWirePart) };
}

function toWirePart(part: ContentPart): WirePart {
  return part.type === "text"
    ? { type: "text", text: part.text }
    : { type: "image_url", image_url: { url: part.image } };
}

/**
 * The assistant message of a reply: content cut at the first stop sequence, function tool calls with parsed
 * arguments, token usage. Undefined when the reply has no choice.
 */
export function toChatMessage(reply: WireCompletion, stopSequences?: readonly string[]): ChatMessage | undefined {
  const choice = reply.choices?.[0]?.message;
  if (!choice) return undefined;
  const text = choice.content;
  const message: ChatMessage = {
    role: "assistant",
    content: text == null ? null : cutAtStopSequences(text, stopSequences),
  };
  const toolCalls = (choice.tool_calls ?? []).flatMap(toToolCall);
  if (toolCalls.length) message.toolCalls = toolCalls;
  if (reply.usage) message.tokenUsage = toUsage(reply.usage);
  return message;
}

/** A function tool call (other types, e.g. OpenAI's "custom", are skipped). */
function toToolCall(call: WireToolCall, index: number): ChatToolCall[] {
  if (call.type !== undefined && call.type !== "function") return [];
  const name = call.function?.name ?? "";
  const args = parseToolCallArguments(call.function?.arguments ?? {});
  return [{ id: call.id || `call_${index}`, type: "function", function: { name, arguments: args } }];
}

export function toUsage(usage: WireUsage): TokenUsage {
  return { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 };
}

type ToolCallDelta = NonNullable<ChatMessageStreamDelta["toolCalls"]>[number];

/** Our delta for one chunk, or undefined when it carries nothing (e.g. the role-only first chunk). */
export function toStreamDelta(chunk: WireChunk): ChatMessageStreamDelta | undefined {
  const delta: ChatMessageStreamDelta = {};
  const choice = chunk.choices?.[0]?.delta;
  if (choice?.content) delta.content = choice.content;
  if (choice?.tool_calls?.length) {
    delta.toolCalls = choice.tool_calls.map(({ index, id, type, function: fn }) => {
      const piece: ToolCallDelta = { index };
      if (id) piece.id = id;
      if (type === "function") piece.type = type;
      if (fn) {
        piece.function = {};
        if (fn.name != null) piece.function.name = fn.name;
        if (fn.arguments != null) piece.function.arguments = fn.arguments;
      }
      return piece;
    });
  }
  if (chunk.usage) delta.tokenUsage = toUsage(chunk.usage);
  return Object.keys(delta).length ? delta : undefined;
}

/**
 * Applies stop sequences to a stream of deltas: content ends before the first stop sequence, even when it is split
 * across chunks (text that could begin a stop sequence is held back until it is decided). Tool-call and usage
 * deltas pass through; content after a stop is dropped while the rest of the stream is still read.
 */
export async function* cutStreamAtStopSequences(
  deltas: AsyncIterable<ChatMessageStreamDelta>,
  stopSequences: readonly string[] | undefined,
): AsyncGenerator<ChatMessageStreamDelta> {
  const stops = (stopSequences ?? []).filter(Boolean);
  if (!stops.length) return yield* deltas;
  let pending = "";
  let stopped = false;
  for await (const delta of deltas) {
    if (delta.content == null || stopped) {
      const { content: _dropped, ...rest } = delta;
      if (Object.keys(rest).length) yield rest;
      continue;
    }
    pending += delta.content;
    const cut = cutAtStopSequences(pending, stops);
    let emit: string;
    if (cut.length < pending.length) {
      [emit, pending, stopped] = [cut, "", true];
    } else {
      const held = heldBack(pending, stops);
      [emit, pending] = [pending.slice(0, pending.length - held), pending.slice(pending.length - held)];
    }
    const out: ChatMessageStreamDelta = { ...delta };
    if (emit) out.content = emit;
    else delete out.content;
    if (Object.keys(out).length) yield out;
  }
  if (pending && !stopped) yield { content: pending };
}

/** Length of the longest end of `text` that is the beginning of a stop sequence. */
function heldBack(text: string, stops: readonly string[]): number {
  let held = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > held; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        held = k;
        break;
      }
    }
  }
  return held;
}
