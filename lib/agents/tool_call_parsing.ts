import { AgentParsingError } from "../errors.ts";
import { DEFAULT_JSON_LIMITS, nestsDeeperThan } from "../json_limits.ts";
import type { ChatToolCall } from "../models/chat_message.ts";

export interface ParsedToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

/**
 * Arguments given as a JSON string, parsed; anything else unchanged. As smolagents' `parse_json_if_needed`: any JSON
 * text counts ("3" is 3, "true" is true, '"x"' is "x"), and a string that is not JSON stays the string.
 */
export function parseJsonIfNeeded(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const EXPECTED_FORMAT = 'Action:\n{\n  "name": "tool_name",\n  "arguments": {"argument_name": "value"}\n}';

/**
 * Extracts one tool call from a text reply: the JSON blob after "Action:" (or anywhere), taken from the first
 * `{` to the last `}`. Accepts `{name, arguments}` and the older `{action, action_input}`.
 */
export function parseToolCallFromText(text: string): ParsedToolCall {
  const actionAt = text.lastIndexOf("Action:");
  const region = actionAt >= 0 ? text.slice(actionAt + "Action:".length) : text;
  const start = region.indexOf("{");
  const end = region.lastIndexOf("}");
  if (start < 0 || end <= start) {
    throw new AgentParsingError(
      `No tool call found in the model output. Call a tool, or write your action as a JSON blob like this:\n${EXPECTED_FORMAT}\nModel output was:\n${text}`,
    );
  }
  const blob = region.slice(start, end + 1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(blob);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AgentParsingError(
      `The JSON blob you used is invalid due to the following error: ${reason}. Write it like this:\n${EXPECTED_FORMAT}\nBlob was:\n${blob}`,
    );
  }
  const object = (parsed ?? {}) as Record<string, unknown>;
  const name = object.name ?? object.action ?? object.tool_name;
  if (typeof name !== "string" || name === "") {
    throw new AgentParsingError(
      `The action's JSON blob has no "name" key naming the tool. Write it like this:\n${EXPECTED_FORMAT}\nBlob was:\n${blob}`,
    );
  }
  const args = "arguments" in object ? object.arguments : object.action_input ?? {};
  return { id: "call_0", name, arguments: bounded(name, parseJsonIfNeeded(args)) };
}

/** Normalises native tool calls from the model: ids filled in, JSON string arguments parsed. */
export function normaliseToolCalls(calls: ChatToolCall[]): ParsedToolCall[] {
  return calls.map((call, index) => ({
    id: call.id || `call_${index}`,
    name: call.function.name,
    arguments: bounded(call.function.name, parseJsonIfNeeded(call.function.arguments ?? {})),
  }));
}

/** Refuses arguments nested too deep to store or print: an error the model sees, not a stack overflow later. */
function bounded(name: string, args: unknown): unknown {
  const { maxDepth } = DEFAULT_JSON_LIMITS;
  if (!nestsDeeperThan(args, maxDepth)) return args;
  throw new AgentParsingError(
    `The arguments of the call to '${name}' nest deeper than ${maxDepth} levels; pass flatter arguments.`,
  );
}
