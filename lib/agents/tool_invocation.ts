import { AgentToolCallError } from "../errors.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { Tool } from "../tools/tool.ts";
import { DEFAULT_TOOL_TIMEOUT_MS, withTimeLimit } from "../tools/tool_time_limit.ts";
import { AgentText } from "../types/agent_text.ts";
import { isAgentType, unwrapToolArguments, wrapToolOutput } from "../types/agent_values.ts";

/** How an agent calls a tool: the step's signal, its blob store, and the agent's default time limit. */
export interface InvokeContext {
  signal?: AbortSignal;
  blobs?: BlobStorage;
  /** Used when the tool sets no `timeoutMs` of its own (default 60 s). */
  timeoutMs?: number;
}

/**
 * Calls a tool with agent types on both sides: image/audio inputs given as blob references arrive as bytes, and
 * the output is wrapped by the tool's `outputType` (media bytes are stored in `blobs` and referenced, so the
 * observation and the state carry a short reference, never inline bytes).
 *
 * The call is bounded by the tool's time limit (its own `timeoutMs`, else the context's): past it the tool's
 * signal aborts and a `ToolTimeoutError` is thrown. When `signal` aborts first, its reason is thrown at once.
 */
export async function invokeTool(tool: Tool, args: unknown, context: InvokeContext): Promise<unknown> {
  let inputs = args;
  if (args && typeof args === "object" && !Array.isArray(args)) {
    try {
      inputs = await unwrapToolArguments(args as Record<string, unknown>, tool.inputs, context.blobs);
    } catch (error) {
      throw new AgentToolCallError(`Invalid call to tool '${tool.name}': ${(error as Error).message}`);
    }
  }
  const limit = tool.timeoutMs ?? context.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const raw = await withTimeLimit(tool.name, limit, context.signal, (signal) => tool.call(inputs, { signal }));
  return await wrapToolOutput(raw, tool.outputType, context.blobs);
}

/** What sandboxed code receives for a wrapped value: strings for text and media references, data otherwise. */
export function toPlainValue(value: unknown): unknown {
  if (value instanceof AgentText) return String(value);
  return isAgentType(value) ? String(value) : value;
}
