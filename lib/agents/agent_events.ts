import type { PendingInput, RunStatus } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { TokenUsage } from "../models/chat_message.ts";

/**
 * A piece of the model's reply while step `stepNumber` of `agent` is in flight: some text, or a piece of the tool
 * call at `toolCall.index` (its id and name come first, its arguments in pieces). Never stored.
 */
export interface DeltaEvent {
  type: "delta";
  agent: string;
  stepNumber: number;
  text?: string;
  toolCall?: { index: number; id?: string; name?: string; arguments?: string };
}

/** What a step emits: the recorded step, and the end of the run when it ended; streamed runs add model deltas. */
export type AgentEvent =
  | DeltaEvent
  | { type: "step"; agent: string; step: StepRecord }
  | { type: "final_answer"; agent: string; status: RunStatus; output: unknown }
  | { type: "awaiting_input"; agent: string; pending: PendingInput };

/** `run(task, { returnFullResult: true })`'s answer. */
export interface RunResult {
  output: unknown;
  /**
   * How the run ended, in the run status vocabulary used everywhere else (`state.status`, HTTP, the typed client,
   * metrics): `succeeded` (smolagents says "success"), `max_steps_error`, `failed`, or `awaiting_input` when it
   * paused without `onInput`.
   */
  state: Extract<RunStatus, "succeeded" | "max_steps_error" | "failed" | "awaiting_input">;
  steps: StepRecord[];
  tokenUsage: TokenUsage | null;
  timing: { startTime: number; endTime: number; durationMs: number };
  error: { type: string; message: string } | null;
}

/** A finished `run()`'s status as `RunResult.state` (a status it cannot end with reads as `failed`). */
export function runResultState(status: RunStatus): RunResult["state"] {
  return status === "succeeded" || status === "max_steps_error" || status === "awaiting_input" ? status : "failed";
}
