import type { StepResult } from "../agents/multi_step_agent.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { RunRecord, StepOutcome } from "./run_record.ts";

/**
 * Idempotency keys of a KV run: the record keeps the last {@link MAX_IDEMPOTENCY_KEYS} keys with the step each one
 * produced (its index in `state.steps`, or the record itself when it is not there, e.g. a managed agent's step) and
 * the agent that took it, so a retried request is answered exactly as the step was and runs nothing.
 */

export const MAX_IDEMPOTENCY_KEYS = 50;

/** The outcome recorded under `key`, replayed; undefined when there is none. */
export function replayOf(record: RunRecord, key: string | undefined): StepOutcome | undefined {
  const entry = !key ? undefined : record.idempotency.find(([recorded]) => recorded === key);
  if (!entry) return undefined;
  const step = typeof entry[1] === "number" ? record.state.steps[entry[1]] : entry[1];
  return { record, step, events: [], replayed: true, agent: entry[2] };
}

/** The record's keys with `key` for the step `result` took (unchanged without a key), the oldest dropped. */
export function remember(
  idempotency: RunRecord["idempotency"],
  key: string | undefined,
  result: StepResult,
): RunRecord["idempotency"] {
  if (!key) return idempotency;
  const index = result.state.steps.indexOf(result.step);
  const produced: number | StepRecord = index >= 0 ? index : result.step;
  return [...idempotency, [key, produced, result.agent] as RunRecord["idempotency"][number]].slice(
    -MAX_IDEMPOTENCY_KEYS,
  );
}
