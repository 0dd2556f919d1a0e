import type { ChatMessage, ChatMessageStreamDelta, ContentPart, ToolDefinition } from "./chat_message.ts";
import type { RetryInfo } from "./retry.ts";

export interface GenerateOptions {
  /** Generation stops before any of these strings; backends that cannot stop are cut client-side. */
  stopSequences?: string[];
  /** OpenAI-style `response_format` (e.g. a JSON schema) for backends with constrained output. */
  responseFormat?: unknown;
  /** transformers-agents' name for constrained output; passed through where supported. */
  grammar?: unknown;
  /** Tools offered for native tool calling. */
  tools?: ToolDefinition[];
  /** "required" forces a tool call when the backend supports it. */
  toolChoice?: "auto" | "required" | "none";
  signal?: AbortSignal;
  /** Called before each retry of this call, by backends that retry (the OpenAI-compatible ones, InferenceClientModel). */
  onRetry?: (info: RetryInfo) => void;
}

/** Anything that turns chat messages into a reply. */
export interface Model {
  readonly modelId?: string;
  generate(messages: ChatMessage[], options?: GenerateOptions): Promise<ChatMessage>;
  /** Yields deltas; optional for custom models (agents fall back to `generate`). */
  generateStream?(
    messages: ChatMessage[],
    options?: GenerateOptions,
  ): AsyncIterable<ChatMessageStreamDelta>;
}

/**
 * A plain function serves as a model, as in smolagents: it receives the messages and the options and returns
 * the text (or an object with `content`, and optionally `toolCalls` / `tokenUsage`).
 */
export type ModelFunction = (
  messages: ChatMessage[],
  options: GenerateOptions,
) =>
  | string
  | {
    content: string | ContentPart[] | null;
    toolCalls?: ChatMessage["toolCalls"];
    tokenUsage?: ChatMessage["tokenUsage"];
  }
  | Promise<
    string | {
      content: string | ContentPart[] | null;
      toolCalls?: ChatMessage["toolCalls"];
      tokenUsage?: ChatMessage["tokenUsage"];
    }
  >;

export type ModelLike = Model | ModelFunction;

/** Wraps a `ModelFunction` as a `Model`; returns a `Model` unchanged. */
export function toModel(model: ModelLike): Model {
  if (typeof model !== "function") return model;
  const fn = model;
  return {
    modelId: fn.name || "custom",
    async generate(messages, options = {}) {
      const reply = await fn(messages, options);
      if (typeof reply === "string") return { role: "assistant", content: reply };
      return {
        role: "assistant",
        content: reply.content ?? null,
        toolCalls: reply.toolCalls,
        tokenUsage: reply.tokenUsage,
      };
    },
  };
}
