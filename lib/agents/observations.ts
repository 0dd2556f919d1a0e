/** Formatting of tool results for the model and for the (JSON) run state. */

import { AgentExecutionError, AgentToolExecutionError } from "../errors.ts";
import { clipMiddle } from "../text_clip.ts";

/** Cuts the middle out of long text, keeping its head and tail and saying how much was dropped. */
export function truncateContent(text: string, maxChars: number): string {
  // smolagents' marker (`truncate_content`), with how many characters were cut.
  const marker = (removed: number) =>
    `\n..._This content has been truncated to stay below ${maxChars} characters (${removed} characters removed)_...\n`;
  return clipMiddle(text, maxChars, { marker });
}

/** A tool result as observation text: strings as they are, everything else as JSON where possible. */
export function stringifyObservation(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "None";
  if (
    typeof value === "object" && value !== null && typeof value.toString === "function" &&
    value.toString !== Object.prototype.toString && !Array.isArray(value)
  ) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A value the run state can hold: itself when it survives JSON, else its string form. */
export function toJsonValue(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : JSON.parse(json);
  } catch {
    return String(value);
  }
}

/**
 * The observation of a step's tool calls, as smolagents writes it: each result as text, one per line in call order
 * (smolagents sorts by call id, which is call order for its own ids). Unlike smolagents, results are not stripped:
 * a text result and its observation stay the same text, stored once when large. `null` when no call succeeded.
 */
export function joinObservations(values: unknown[]): string | null {
  if (values.length === 0) return null;
  return values.map(stringifyObservation).join("\n");
}

/** A call to a tool the agent does not have: an execution error, as smolagents' `execute_tool_call` raises it. */
export function unknownToolError(name: string, available: string[]): AgentToolExecutionError {
  return new AgentToolExecutionError(`Unknown tool ${name}, should be one of: ${available.join(", ")}.`);
}

/**
 * `final_answer` called with other tools in one reply: an execution error with smolagents' wording. Unlike smolagents,
 * none of the calls has run (the other tools' effects would be lost with the answer).
 */
export function finalAnswerNotAloneError(names: string[]): AgentExecutionError {
  const others = names.filter((name) => name !== "final_answer").join(", ");
  return new AgentExecutionError(
    `If you want to return an answer, please do not perform any other tool calls than the final answer tool call! This reply also called: ${others}. Call the other tools first, then give the final answer in a step of its own.`,
  );
}
