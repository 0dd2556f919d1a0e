import { type Context, SpanKind, type Tracer } from "@opentelemetry/api";
import type { ChatMessage } from "../models/chat_message.ts";
import { ATTR, inSpan, recordUsage } from "./spans.ts";

/**
 * The spans a step starts beneath its own: one `chat {model}` per model call (retries included) and one
 * `execute_tool {tool}` per tool call. Parents are passed explicitly, so the nesting is right without a context
 * manager (Workers, or Deno without OTEL_DENO); with one, what the model client or the tool calls nests too.
 */
export class StepSpans {
  constructor(readonly tracer: Tracer, readonly context: Context) {}

  /** A model call: `chat {model}` (client span) with the reply's token usage; a failure sets `error.type`. */
  modelCall(modelId: string, call: () => Promise<ChatMessage>): Promise<ChatMessage> {
    return inSpan(this.tracer, {
      name: `chat ${modelId}`,
      kind: SpanKind.CLIENT,
      attributes: { [ATTR.operation]: "chat", [ATTR.requestModel]: modelId },
      parent: this.context,
    }, async (span) => {
      const reply = await call();
      recordUsage(span, reply.tokenUsage);
      return reply;
    });
  }

  /** A tool call: `execute_tool {tool}` with the call's id where the model gave one; a throw sets `error.type`. */
  toolCall<T>(toolName: string, callId: string | undefined, call: () => Promise<T>): Promise<T> {
    return inSpan(this.tracer, {
      name: `execute_tool ${toolName}`,
      kind: SpanKind.INTERNAL,
      attributes: {
        [ATTR.operation]: "execute_tool",
        [ATTR.toolName]: toolName,
        [ATTR.toolType]: "function",
        ...(callId ? { [ATTR.toolCallId]: callId } : {}),
      },
      parent: this.context,
    }, () => call());
  }
}
