import { Tool } from "./tool.ts";
import type { ToolInputs } from "./tool_inputs.ts";

/**
 * Lets the agent ask the user a question. In a ToolCallingAgent the run pauses in `awaiting_input` with the
 * question in `pendingInput`; the answer (`resume(state, {answer})`, `POST /v1/runs/{runId}/input`) becomes the
 * observation. Called directly (e.g. from CodeAgent code), it fails: code cannot pause mid-run.
 */
export class UserInputTool extends Tool<{ question: string }, string> {
  /** Only meaningful inside a run: no direct calls (`POST /v1/tools/{name}`). */
  override directCalls = false;
  readonly name = "user_input";
  readonly description =
    "Asks the user a question and returns their answer. Use it only when you cannot go on without it.";
  readonly inputs: ToolInputs = { question: { type: "string", description: "The question to ask the user" } };
  readonly outputType = "string" as const;
  /** Marks the tool whose call pauses the run for the user's answer. */
  readonly asksUser = true;

  forward(): string {
    throw new Error("user_input pauses the run for the user's answer; only a ToolCallingAgent can do that.");
  }
}
