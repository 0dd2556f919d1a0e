import type { RunStatus } from "../memory/agent_state.ts";

/** How a run is kept and stepped. */
export type RunMode = "kv" | "background" | "stateless";

/** How a step request ended: `rejected` is a 4xx (unknown run, busy, finished...), `error` a 5xx. */
export type StepOutcomeKind = "ok" | "replayed" | "rejected" | "error" | "aborted";

/** Told when runs begin and end (metrics). */
export interface RunObserver {
  runCreated(agent: string, mode: RunMode): void;
  /** A run reached a final status (`succeeded`, `failed`, `max_steps_error`, `cancelled`). */
  runEnded(agent: string, status: RunStatus): void;
}

/** Told when steps begin and end (metrics). */
export interface StepObserver {
  /** A step begins; call the returned function once, when it ends. */
  stepStarted(mode: RunMode): (agent: string, outcome: StepOutcomeKind) => void;
}
