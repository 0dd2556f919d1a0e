import type { z } from "zod";
import { AgentToolCallError } from "../errors.ts";

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function describeIssue(issue: z.core.$ZodIssue, inputs: Record<string, unknown>): string {
  const name = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `unknown argument '${key}'`).join("; ");
  }
  if (issue.code === "invalid_type") {
    const value = issue.path.length === 1 ? inputs[String(issue.path[0])] : issue.input;
    if (value === undefined) return `missing required argument '${name}' (${issue.expected})`;
    return `argument '${name}' has type ${describeValue(value)}, expected ${issue.expected}`;
  }
  return name ? `argument '${name}': ${issue.message}` : issue.message;
}

/**
 * Validates tool-call arguments against the tool's schema. Returns the parsed arguments, or throws an
 * `AgentToolCallError` naming each bad argument, its type and the expected type, and listing the expected inputs.
 */
export function validateToolArguments<T>(
  toolName: string,
  schema: z.ZodType<T>,
  args: unknown,
  expectedInputs: Record<string, { type: unknown; description: string; nullable?: boolean }>,
): T {
  const names = Object.keys(expectedInputs);
  // As in smolagents, a bare (non-object) argument goes to a tool's only input: final_answer("Final report.").
  const bare = args !== null && args !== undefined && (typeof args !== "object" || Array.isArray(args));
  const input = bare && names.length === 1 ? { [names[0]]: args } : args ?? {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new AgentToolCallError(
      `Invalid call to tool '${toolName}': arguments must be an object of named arguments, got ${
        describeValue(input)
      }. Expected inputs: ${JSON.stringify(expectedInputs)}`,
    );
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(issue, input as Record<string, unknown>));
  throw new AgentToolCallError(
    `Invalid call to tool '${toolName}': ${problems.join("; ")}. Expected inputs: ${JSON.stringify(expectedInputs)}`,
  );
}
