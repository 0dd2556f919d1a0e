import { type AgentState, parseAgentState, STATE_VERSION } from "../memory/agent_state.ts";
import type { TaskStep } from "../memory/step_records.ts";

/**
 * The state of a new run, or of a run continued with a new task (`reset: false`): the memory is kept, the step
 * counter, status, answer and error start over.
 */
export function createRunState(input: {
  agentName: string;
  /** The task as given (kept as `state.task`). */
  task: string;
  /** The task as the model reads it (with additional arguments announced). */
  taskText: string;
  images?: string[];
  additionalArgs: Record<string, unknown>;
  maxSteps: number;
  previous?: AgentState;
  /** The clock (epoch milliseconds) for `createdAt` / `updatedAt`; default `Date.now`. */
  now?: () => number;
}): AgentState {
  const now = (input.now ?? Date.now)();
  const taskStep: TaskStep = {
    type: "task",
    task: input.taskText,
    ...(input.images?.length ? { images: input.images } : {}),
  };
  if (input.previous) {
    const state = parseAgentState(input.previous);
    return {
      ...state,
      task: input.task,
      status: "running",
      maxSteps: input.maxSteps,
      stepNumber: 0,
      steps: [...state.steps, taskStep],
      additionalArgs: { ...state.additionalArgs, ...input.additionalArgs },
      finalAnswer: undefined,
      error: null,
      pendingInput: undefined,
      subRun: undefined,
      updatedAt: now,
    };
  }
  return {
    version: STATE_VERSION,
    agentName: input.agentName,
    task: input.task,
    status: "running",
    maxSteps: input.maxSteps,
    stepNumber: 0,
    steps: [taskStep],
    additionalArgs: input.additionalArgs,
    error: null,
    tokenUsage: null,
    createdAt: now,
    updatedAt: now,
  };
}
