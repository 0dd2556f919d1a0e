import type { AgentState, SubRun } from "../memory/agent_state.ts";
import type { ManagedAgent } from "./managed_agent.ts";
import type { ManagedCall, ManagedReport } from "./step_types.ts";

export type { ManagedCall, ManagedReport } from "./step_types.ts";

/** Starts the sub-run of the first call (its state timed by `now`); the others wait in its queue. */
export function startSubRun(
  managed: ReadonlyMap<string, ManagedAgent>,
  calls: ManagedCall[],
  now: () => number,
  reports: ManagedReport[] = [],
): SubRun {
  const [first, ...queue] = calls;
  const agent = managed.get(first.agentName);
  if (!agent) throw new Error(`No managed agent named '${first.agentName}'.`);
  return {
    agentName: first.agentName,
    callId: first.callId,
    state: agent.start(first.task, first.additionalArgs, now),
    queue,
    reports,
  };
}

/**
 * After the sub-run moved on: it keeps going, or it ended and the next queued call starts, or every call of the
 * manager's step has answered and the reports are returned.
 */
export function afterSubRunStep(
  managed: ReadonlyMap<string, ManagedAgent>,
  subRun: SubRun,
  childState: AgentState,
  now: () => number,
): { subRun: SubRun; reports?: undefined } | { subRun?: undefined; reports: ManagedReport[] } {
  if (childState.status === "running" || childState.status === "awaiting_input") {
    return { subRun: { ...subRun, state: childState } };
  }
  const agent = managed.get(subRun.agentName)!;
  const reports = [...subRun.reports, {
    callId: subRun.callId,
    agentName: subRun.agentName,
    text: agent.report(childState),
    answer: childState.finalAnswer ?? null,
  }];
  if (subRun.queue.length > 0) return { subRun: startSubRun(managed, subRun.queue, now, reports) };
  return { reports };
}
