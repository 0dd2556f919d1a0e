import { AgentExecutionError, AgentToolCallError } from "../errors.ts";
import { POSITIONAL_KEY } from "../executors/executor.ts";
import { FinalAnswerTool } from "../tools/final_answer_tool.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { Tool } from "../tools/tool.ts";
import type { StepSpans } from "../tracing/step_spans.ts";
import { DEFAULT_TOOL_TIMEOUT_MS, withTimeLimit } from "../tools/tool_time_limit.ts";
import { AgentText } from "../types/agent_text.ts";
import { isAgentType, unwrapToolArguments, wrapToolOutput } from "../types/agent_values.ts";

/** How an agent calls a tool: the step's signal, its blob store, and the agent's default time limit. */
export interface InvokeContext {
  signal?: AbortSignal;
  blobs?: BlobStorage;
  /** Used when the tool sets no `timeoutMs` of its own (default 60 s). */
  timeoutMs?: number;
  /** Starts the call's `execute_tool` span under the step's (none without). */
  spans?: StepSpans;
  /** The model's id for this call, on the span as `gen_ai.tool.call.id`. */
  callId?: string;
}

/**
 * Calls a tool with agent types on both sides: image/audio inputs given as blob references arrive as bytes, and
 * the output is wrapped by the tool's `outputType` (media bytes are stored in `blobs` and referenced, so the
 * observation and the state carry a short reference, never inline bytes).
 *
 * The call is bounded by the tool's time limit (its own `timeoutMs`, else the context's): past it the tool's
 * signal aborts and a `ToolTimeoutError` is thrown. When `signal` aborts first, its reason is thrown at once.
 */
export function invokeTool(tool: Tool, args: unknown, context: InvokeContext): Promise<unknown> {
  const call = () => invokeUntraced(tool, args, context);
  return context.spans ? context.spans.toolCall(tool.name, context.callId, call) : call();
}

async function invokeUntraced(tool: Tool, args: unknown, context: InvokeContext): Promise<unknown> {
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

/**
 * The answer of `final_answer(value)` called in code. The value is read as smolagents' `Tool.__call__` reads one
 * argument: an object whose keys are all inputs of the tool is its named arguments, anything else the value of its
 * only input. The built-in tool answers that value as it is; a custom `final_answer` tool (own inputs or `forward`)
 * is called with it and answers what it returns. A failure is an `AgentExecutionError`, as a failing tool in code.
 */
export async function finalAnswerFromCode(
  tool: Tool | undefined,
  value: unknown,
  context: InvokeContext,
): Promise<unknown> {
  const names = Object.keys(tool?.inputs ?? { answer: null });
  const named = value !== null && typeof value === "object" && !Array.isArray(value) &&
    Object.keys(value).length > 0 && Object.keys(value).every((key) => names.includes(key));
  if (!tool || tool.constructor === FinalAnswerTool) return named ? (value as { answer?: unknown }).answer : value;
  const args = named || names.length !== 1 ? value : { [names[0]]: value };
  try {
    return await invokeTool(tool, args, context);
  } catch (error) {
    if (context.signal?.aborted) throw context.signal.reason;
    throw new AgentExecutionError(`Code execution failed at final_answer: ${(error as Error).message}`);
  }
}

/**
 * Arguments the sandbox passed for a call with several positional arguments (`tool("a", 3)`, see `POSITIONAL_KEY`),
 * as named arguments: the `i`-th value goes to the `i`-th of `names` (the tool's inputs in declared order), as Python
 * maps positional arguments to `forward`'s parameters. More values than inputs is an `AgentToolCallError`. Any other
 * `args` is returned as it is.
 */
export function namedFromPositional(toolName: string, names: readonly string[], args: unknown): unknown {
  if (args === null || typeof args !== "object" || Array.isArray(args) || names.includes(POSITIONAL_KEY)) return args;
  const values = (args as Record<string, unknown>)[POSITIONAL_KEY];
  if (!Array.isArray(values) || Object.keys(args).length !== 1) return args;
  if (values.length > names.length) {
    throw new AgentToolCallError(
      `Invalid call to tool '${toolName}': it takes ${names.length} input${names.length === 1 ? "" : "s"} (${
        names.join(", ")
      }), got ${values.length} positional arguments.`,
    );
  }
  return Object.fromEntries(values.map((value, i) => [names[i], value]));
}
