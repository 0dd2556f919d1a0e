/**
 * Pure helpers shared by every model backend: role conversions, message merging and flattening, client-side stop
 * sequences, tool-call argument parsing and stream-delta merging.
 */

import type {
  ChatMessage,
  ChatMessageStreamDelta,
  ChatToolCall,
  ContentPart,
  MessageRole,
  TokenUsage,
} from "./chat_message.ts";

/** Maps roles a backend does not accept to roles it does (e.g. `{ system: "user" }`). */
export type RoleConversions = Partial<Record<MessageRole, MessageRole>>;

/** The default mapping for chat APIs: tool calls become assistant turns, tool results become user turns. */
export const toolRoleConversions: Readonly<RoleConversions> = Object.freeze({
  "tool-call": "assistant",
  "tool-response": "user",
});

export interface PrepareMessagesOptions {
  /**
   * Extra role conversions, applied on top of `toolRoleConversions` (smolagents replaces the tool conversions
   * when custom ones are given; we merge them so tool roles never reach an API that rejects them).
   */
  customRoleConversions?: RoleConversions;
  /** Turn part lists into plain text (text parts joined by newlines; images are dropped). */
  flattenMessagesAsText?: boolean;
}

/**
 * Readies messages for a chat API: converts roles, flattens if asked, and merges consecutive messages of the same
 * role (text joined by a newline, as smolagents does). Only `role` and `content` are kept: tool calls in the
 * history are rendered as text by memory, so native `toolCalls` on input messages are dropped.
 */
export function prepareMessages(messages: readonly ChatMessage[], options: PrepareMessagesOptions = {}): ChatMessage[] {
  const conversions: RoleConversions = options.customRoleConversions
    ? { ...toolRoleConversions, ...options.customRoleConversions }
    : toolRoleConversions;
  const out: ChatMessage[] = [];
  for (const message of messages) {
    const role = conversions[message.role] ?? message.role;
    const content = options.flattenMessagesAsText ? flattenContent(message.content) : message.content;
    const previous = out.at(-1);
    if (previous?.role === role) previous.content = mergeContent(previous.content, content);
    else out.push({ role, content: Array.isArray(content) ? [...content] : content });
  }
  return out;
}

/** Text of a message's content: text parts joined by newlines, images dropped. */
export function flattenContent(content: ChatMessage["content"]): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content.flatMap((part) => part.type === "text" ? [part.text] : []).join("\n");
}

function toParts(content: ChatMessage["content"]): ContentPart[] {
  if (content == null) return [];
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

/** Joins two contents; adjacent text parts merge with a newline (copies parts, never mutates the inputs). */
function mergeContent(a: ChatMessage["content"], b: ChatMessage["content"]): ChatMessage["content"] {
  if (b == null) return a;
  if (a == null) return b;
  if (typeof a === "string" && typeof b === "string") return `${a}\n${b}`;
  const merged = toParts(a).map((part) => ({ ...part }));
  for (const part of toParts(b)) {
    const last = merged.at(-1);
    if (part.type === "text" && last?.type === "text") last.text += `\n${part.text}`;
    else merged.push({ ...part });
  }
  return merged;
}

/** Cuts `text` before the earliest occurrence of any stop sequence (for backends that cannot stop themselves). */
export function cutAtStopSequences(text: string, stopSequences: readonly string[] | undefined): string {
  let end = text.length;
  for (const stop of stopSequences ?? []) {
    const at = stop ? text.indexOf(stop) : -1;
    if (at !== -1 && at < end) end = at;
  }
  return text.slice(0, end);
}

/** Model names (the id's last path segment) that reject `stop`; see `supportsStopParameter`. */
const NO_STOP_MODELS =
  /^(?:o3(?:$|[-.].*)|o4(?:$|[-.].*)|gpt-5.*|(?:[A-Za-z][A-Za-z0-9_-]*\.)?grok-[A-Za-z0-9][A-Za-z0-9_.-]*)$/;

/**
 * False for models that reject the `stop` parameter, as smolagents' `supports_stop_parameter` decides: OpenAI o3 and
 * o4 (o3-mini excepted) and the whole gpt-5 family, and every grok model, also behind a provider prefix such as
 * `oci/xai.grok-4`. Backends leave `stop` out for them and cut the reply client-side.
 */
export function supportsStopParameter(modelId: string): boolean {
  const name = modelId.split("/").at(-1) ?? modelId;
  if (name === "o3-mini") return true;
  return !NO_STOP_MODELS.test(name);
}

/** Parses tool-call arguments: valid JSON strings become values, other strings stay as they are. */
export function parseToolCallArguments(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Folds streamed deltas into one assistant message. Content is concatenated (null when no delta had any);
 * tool-call pieces merge by `index` (id and name are taken once, argument pieces are concatenated, then parsed);
 * token usage is summed over the deltas that report it.
 */
export function mergeStreamDeltas(deltas: Iterable<ChatMessageStreamDelta>): ChatMessage {
  let content: string | null = null;
  let usage: TokenUsage | undefined;
  const calls = new Map<number, { id?: string; name?: string; args: string }>();
  for (const delta of deltas) {
    if (delta.content != null) content = (content ?? "") + delta.content;
    for (const piece of delta.toolCalls ?? []) {
      const call = calls.get(piece.index) ?? { args: "" };
      call.id ??= piece.id || undefined;
      call.name ??= piece.function?.name || undefined;
      call.args += piece.function?.arguments ?? "";
      calls.set(piece.index, call);
    }
    if (delta.tokenUsage) {
      const { inputTokens, outputTokens } = delta.tokenUsage;
      usage = {
        inputTokens: (usage?.inputTokens ?? 0) + inputTokens,
        outputTokens: (usage?.outputTokens ?? 0) + outputTokens,
      };
    }
  }
  const message: ChatMessage = { role: "assistant", content };
  if (calls.size > 0) {
    message.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([index, call]): ChatToolCall => ({
      id: call.id ?? `call_${index}`,
      type: "function",
      function: { name: call.name ?? "", arguments: parseToolCallArguments(call.args) },
    }));
  }
  if (usage) message.tokenUsage = usage;
  return message;
}
