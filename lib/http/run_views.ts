import { type AgentState, isFinalStatus } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { StepAnswerState } from "../runs/run_record.ts";

/** The JSON shapes the HTTP API answers with. */

export function stepView(state: StepAnswerState, step: StepRecord | null, stepAgent?: string) {
  return {
    status: state.status,
    ...(stepAgent ? { stepAgent } : {}),
    stepNumber: state.stepNumber,
    maxSteps: state.maxSteps,
    step,
    ...(isFinalStatus(state.status) ? { finalAnswer: state.finalAnswer ?? null } : {}),
    ...(state.error ? { error: state.error } : {}),
    ...(state.pendingInput ? { pendingInput: state.pendingInput } : {}),
    tokenUsage: state.tokenUsage,
  };
}

/** A KV run as `GET /v1/runs/{runId}` shows it; `expiresAt` (epoch ms) is when the store may drop it. */
export function runView(runId: string, agent: string, state: AgentState, expiresAt: number) {
  return {
    runId,
    agent,
    status: state.status,
    task: state.task,
    stepNumber: state.stepNumber,
    maxSteps: state.maxSteps,
    steps: state.steps,
    finalAnswer: state.finalAnswer ?? null,
    error: state.error,
    pendingInput: state.pendingInput ?? null,
    tokenUsage: state.tokenUsage,
    createdAt: new Date(state.createdAt).toISOString(),
    updatedAt: new Date(state.updatedAt).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
  };
}
