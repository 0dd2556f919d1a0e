/**
 * The message format every model backend speaks.
 *
 * Roles follow smolagents: besides the usual three, memory renders tool calls and their results as
 * `tool-call` / `tool-response` messages; backends map those to roles their API accepts
 * (see `toolRoleConversions` in `message_utils.ts`).
 */

export type MessageRole = "system" | "user" | "assistant" | "tool-call" | "tool-response";

export type TextPart = { type: "text"; text: string };
/** An image as an `https:` or `data:` URL. */
export type ImagePart = { type: "image"; image: string };
export type ContentPart = TextPart | ImagePart;

export interface ChatToolCall {
  id: string;
  type: "function";
  function: {
    name: string;
    /** Parsed JSON object when the backend gave valid JSON, otherwise the raw string. */
    arguments: unknown;
  };
}

/** Token counts of one model call (also what steps and runs record; see lib/memory/step_records.ts). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatMessage {
  role: MessageRole;
  content: string | ContentPart[] | null;
  toolCalls?: ChatToolCall[];
  /** Set on messages returned by a model; `undefined` when the backend reports none. */
  tokenUsage?: TokenUsage;
}

/** One streamed piece of a reply. Tool-call deltas carry an `index` and are merged by it. */
export interface ChatMessageStreamDelta {
  content?: string;
  toolCalls?: Array<{
    index: number;
    id?: string;
    type?: "function";
    function?: { name?: string; arguments?: string };
  }>;
  tokenUsage?: TokenUsage;
}

/** A tool as the model sees it: a name, a description and a JSON Schema for its arguments. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export function textOf(content: ChatMessage["content"]): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => part.type === "text" ? part.text : "").join("");
}
