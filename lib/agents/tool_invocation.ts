import { AgentToolCallError } from "../errors.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { Tool } from "../tools/tool.ts";
import { AgentText } from "../types/agent_text.ts";
import { isAgentType, unwrapToolArguments, wrapToolOutput } from "../types/agent_values.ts";

/**
 * Calls a tool with agent types on both sides: image/audio inputs given as blob references arrive as bytes, and
 * the output is wrapped by the tool's `outputType` (media bytes are stored in `blobs` and referenced, so the
 * observation and the state carry a short reference, never inline bytes).
 */
export async function invokeTool(
  tool: Tool,
  args: unknown,
  context: { signal?: AbortSignal; blobs?: BlobStorage },
): Promise<unknown> {
  let inputs = args;
  if (args && typeof args === "object" && !Array.isArray(args)) {
    try {
      inputs = await unwrapToolArguments(args as Record<string, unknown>, tool.inputs, context.blobs);
    } catch (error) {
      throw new AgentToolCallError(`Invalid call to tool '${tool.name}': ${(error as Error).message}`);
    }
  }
  const raw = await tool.call(inputs, { signal: context.signal });
  return await wrapToolOutput(raw, tool.outputType, context.blobs);
}

/** What sandboxed code receives for a wrapped value: strings for text and media references, data otherwise. */
export function toPlainValue(value: unknown): unknown {
  if (value instanceof AgentText) return String(value);
  return isAgentType(value) ? String(value) : value;
}
