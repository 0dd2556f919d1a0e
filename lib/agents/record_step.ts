import type { AgentError } from "../errors.ts";
import type { AgentState } from "../memory/agent_state.ts";
import { type ActionStep, type StepRecord, timingSince } from "../memory/step_records.ts";
import type { AgentEvent } from "./agent_events.ts";
import type { FinalAnswerCheck, StepCallbacks } from "./agent_options.ts";
import type { ManagedAgent } from "./managed_agent.ts";
import type { ActionDraft, MultiStepAgent, StepResult } from "./multi_step_agent.ts";
import { addUsage, checkFinalAnswer, runStepCallbacks } from "./step_hooks.ts";
import { startSubRun } from "./sub_runs.ts";

/** Where the record goes: appended (`replace` 0) or completing a waiting step in place (`replace` 1). */
export interface RecordPosition {
  index: number;
  replace: number;
  startTime: number;
  stepNumber: number;
  outOfSteps: boolean;
}

/**
 * Turns a finished draft into the action record and the next state: final-answer checks, the closing
 * `final_answer` record, a pause for input, the first managed sub-run, step callbacks and the events.
 */
export async function recordActionStep(
  state: AgentState,
  draft: ActionDraft,
  initialError: AgentError | null,
  at: RecordPosition,
  agent: {
    agentName: string;
    /** The agent taking the step, given to the final answer checks. */
    self: MultiStepAgent;
    finalAnswerChecks: FinalAnswerCheck[];
    stepCallbacks: StepCallbacks;
    managedAgents: ReadonlyMap<string, ManagedAgent>;
  },
): Promise<StepResult> {
  let error = initialError;
  if (!at.outOfSteps && draft.isFinalAnswer && !error) {
    error = await checkFinalAnswer(agent.finalAnswerChecks, draft.actionOutput, state, agent.self);
  }
  if (error && !at.outOfSteps) draft.isFinalAnswer = false;
  const { variables, pendingInput, managedCalls, ...fields } = draft;
  const record: ActionStep = {
    type: "action",
    stepNumber: at.stepNumber,
    ...fields,
    error: error ? error.toJSON() : null,
    timing: timingSince(at.startTime),
  };
  const steps = [...state.steps.slice(0, at.index), record, ...state.steps.slice(at.index + at.replace)];
  const paused = pendingInput && !error && !record.isFinalAnswer ? pendingInput : undefined;
  let next: AgentState = {
    ...state,
    ...(variables ? { variables } : {}),
    steps,
    status: paused ? "awaiting_input" : "running",
    pendingInput: paused,
    stepNumber: at.outOfSteps ? state.stepNumber : Math.max(state.stepNumber, at.stepNumber),
    tokenUsage: at.replace ? state.tokenUsage : addUsage(state.tokenUsage, record.tokenUsage),
    updatedAt: Date.now(),
  };
  if (managedCalls?.length && !error && !paused) next.subRun = startSubRun(agent.managedAgents, managedCalls);
  const finalRecord: StepRecord | undefined = record.isFinalAnswer
    ? { type: "final_answer", output: record.actionOutput }
    : undefined;
  if (finalRecord) {
    next = {
      ...next,
      steps: [...next.steps, finalRecord],
      status: at.outOfSteps ? "max_steps_error" : "succeeded",
      finalAnswer: record.actionOutput,
    };
    if (at.outOfSteps) next.error = record.error;
  }
  next = await runStepCallbacks(agent.stepCallbacks, record, next, agent.agentName);
  if (finalRecord) next = await runStepCallbacks(agent.stepCallbacks, finalRecord, next, agent.agentName);
  const events: AgentEvent[] = [{ type: "step", agent: agent.agentName, step: record }];
  if (next.status === "awaiting_input" && next.pendingInput) {
    events.push({ type: "awaiting_input", agent: agent.agentName, pending: next.pendingInput });
  } else if (next.status !== "running") {
    events.push({
      type: "final_answer",
      agent: agent.agentName,
      status: next.status,
      output: next.finalAnswer ?? null,
    });
  }
  return { state: next, step: record, agent: agent.agentName, events };
}
