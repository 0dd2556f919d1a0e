import { Tool } from "./tool.ts";
import type { ToolInputs } from "./tool_inputs.ts";

export const FINAL_ANSWER_TOOL_NAME = "final_answer";

/** Always available: the agent calls it to end the run with an answer. */
export class FinalAnswerTool extends Tool<{ answer: unknown }, unknown> {
  /** Only meaningful inside a run: no direct calls (`POST /v1/tools/{name}`). */
  override directCalls = false;
  readonly name = FINAL_ANSWER_TOOL_NAME;
  readonly description = "Provides a final answer to the given problem.";
  readonly inputs: ToolInputs = { answer: { type: "any", description: "The final answer to the problem" } };
  readonly outputType = "any" as const;

  forward({ answer }: { answer: unknown }): unknown {
    return answer;
  }
}
