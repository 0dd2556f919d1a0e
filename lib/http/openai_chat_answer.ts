/**
 * How a run's end becomes a chat completion's answer:
 *
 * - `succeeded`: the final answer is the assistant's content (a string as is, anything else as JSON),
 *   `finish_reason: "stop"`.
 * - `max_steps_error`: the answer the model gave when the run ran out of steps, `finish_reason: "length"` (the
 *   answer is complete text, but the agent did not finish its work).
 * - `failed`: an error, 502 `run_failed` (the run's error in the message); `cancelled` 409 `run_cancelled`;
 *   `expired` 409 `run_finished`; a pause for input 409 `awaiting_input` (answer it through the run's routes).
 *
 * `usage` is the run's token totals (`prompt_tokens` = input, `completion_tokens` = output; 0 when the model
 * reported none).
 */
import type { AgentState } from "../memory/agent_state.ts";
import { HttpError } from "./http_errors.ts";

export interface ChatAnswer {
  content: string;
  finishReason: "stop" | "length";
}

export function chatAnswer(runId: string, state: AgentState): ChatAnswer {
  const content = answerText(state.finalAnswer);
  switch (state.status) {
    case "succeeded":
      return { content, finishReason: "stop" };
    case "max_steps_error":
      return { content, finishReason: "length" };
    case "awaiting_input":
      throw new HttpError(
        409,
        "awaiting_input",
        `The run ${runId} is waiting for input (${state.pendingInput?.kind ?? "input"}); answer it with POST ` +
          `/v1/runs/${runId}/input and follow it with GET /v1/runs/${runId}/events.`,
      );
    case "cancelled":
      throw new HttpError(409, "run_cancelled", `The run ${runId} was cancelled.`);
    case "failed": {
      const why = state.error ? `${state.error.type}: ${state.error.message}` : "no reason recorded";
      throw new HttpError(502, "run_failed", `The run ${runId} failed (${why}).`);
    }
    default:
      throw new HttpError(409, "run_finished", `The run ${runId} ended with status '${state.status}'.`);
  }
}

export function chatUsage(state: AgentState) {
  const prompt = state.tokenUsage?.inputTokens ?? 0;
  const completion = state.tokenUsage?.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function answerText(answer: unknown): string {
  if (answer === undefined || answer === null) return "";
  return typeof answer === "string" ? answer : JSON.stringify(answer);
}
