import type { PendingInput, RunStatus } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { TokenUsage } from "../models/chat_message.ts";

/** What a step emits: the recorded step, and the end of the run when it ended. */
export type AgentEvent =
  | { type: "step"; agent: string; step: StepRecord }
  | { type: "final_answer"; agent: string; status: RunStatus; output: unknown }
  | { type: "awaiting_input"; agent: string; pending: PendingInput };

/** `run(task, { returnFullResult: true })`'s answer. */
export interface RunResult {
  output: unknown;
  /** `success` or `max_steps_error` as in smolagents; `failed` when the run ended with an error. */
  state: "success" | "max_steps_error" | "failed";
  steps: StepRecord[];
  tokenUsage: TokenUsage | null;
  timing: { startTime: number; endTime: number; durationMs: number };
  error: { type: string; message: string } | null;
}
