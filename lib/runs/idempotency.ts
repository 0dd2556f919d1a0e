import type { StepResult } from "../agents/multi_step_agent.ts";
import { type AgentState, isFinalStatus } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { RecordedAfter, RunRecord, StepAnswerState, StepOutcome } from "./run_record.ts";

/**
 * Idempotency keys of a KV run: the record keeps the last {@link MAX_IDEMPOTENCY_KEYS} keys with the step each one
 * produced (its index in `state.steps`, or the record itself when it is not there, e.g. a managed agent's step), the
 * agent that took it, and the run as that step left it ({@link RecordedAfter}), so a retried request is answered
 * exactly as the step was, however many steps came since, and runs nothing.
 */

export const MAX_IDEMPOTENCY_KEYS = 50;

/** The outcome recorded under `key`, replayed; undefined when there is none. */
export function replayOf(record: RunRecord, key: string | undefined): StepOutcome | undefined {
  const entry = !key ? undefined : record.idempotency.find(([recorded]) => recorded === key);
  if (!entry) return undefined;
  const [, produced, agent, recorded] = entry;
  const step = typeof produced === "number" ? record.state.steps[produced] : produced;
  const { maxSteps, finalAnswer, error } = record.state;
  const ended = recorded && isFinalStatus(recorded.status);
  const after: StepAnswerState = recorded
    ? {
      ...recorded,
      maxSteps,
      finalAnswer,
      error: ended ? error : null,
      pendingInput: pendingAt(record.state, recorded),
    }
    : answerState(record.state);
  return { record, after, step, events: [], replayed: true, agent };
}

/**
 * The record's keys with `key` for the step `result` took (or none: `step` null) (unchanged without a key), the oldest dropped. `committed`
 * is the run as the step's commit leaves it (default `result.state`; a cancellation applied by the commit differs).
 */
export function remember(
  idempotency: RunRecord["idempotency"],
  key: string | undefined,
  result: Pick<StepResult, "state"> & { step: StepRecord | null; agent?: string },
  committed: AgentState = result.state,
): RunRecord["idempotency"] {
  if (!key) return idempotency;
  const index = result.step ? result.state.steps.indexOf(result.step) : -1;
  // null: no step ran (the request applied a pending cancellation).
  const produced: number | StepRecord | null = index >= 0 ? index : result.step;
  const { status, stepNumber, tokenUsage } = committed;
  const after: RecordedAfter = { status, stepNumber, tokenUsage };
  const entry: RunRecord["idempotency"][number] = [key, produced, result.agent, after];
  return [...idempotency, entry].slice(-MAX_IDEMPOTENCY_KEYS);
}

/** The pending input a replay shows: the run's own while it still waits at the recorded step, else none. */
function pendingAt(state: AgentState, recorded: RecordedAfter): AgentState["pendingInput"] {
  const waitsThere = recorded.status === "awaiting_input" && state.status === "awaiting_input" &&
    state.stepNumber === recorded.stepNumber;
  return waitsThere ? state.pendingInput : undefined;
}

/** The part of a run's state a step's answer shows. */
export function answerState(state: AgentState): StepAnswerState {
  const { status, stepNumber, maxSteps, tokenUsage, finalAnswer, error, pendingInput } = state;
  return { status, stepNumber, maxSteps, tokenUsage, finalAnswer, error, pendingInput };
}
