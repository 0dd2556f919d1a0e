import { SmolstepError } from "../errors.ts";

/**
 * Why a state cannot take the step asked of it. `run_finished` and `not_awaiting_input` are also what a KV run answers
 * for the same cases (lib/runs/run_record.ts `statusMismatch`, through {@link statusRefusal}); `step_refused` is a
 * state this agent cannot step at all.
 */
export type StepRefusedCode =
  /** The run has ended: no step, no input. */
  | "run_finished"
  /** Input for a run that waits for none, or a step (without input) on a run that waits for input. */
  | "not_awaiting_input"
  /** A state made for another agent, or waiting on a managed agent this agent does not have. */
  | "step_refused";

/** Thrown by `step()` and `resume()` for a state they must not step; `code` says why ({@link StepRefusedCode}). */
export class StepRefusedError extends SmolstepError {
  override name = "StepRefusedError";
  constructor(message: string, code: StepRefusedCode = "step_refused") {
    super(message, { code });
  }
}

/** Why a run in `status` cannot take a step that needs `expected`: the code and message, for runs of every mode. */
export function statusRefusal(
  expected: "running" | "awaiting_input",
  status: string,
): { code: "run_finished" | "not_awaiting_input"; message: string } {
  if (expected === "awaiting_input") {
    return { code: "not_awaiting_input", message: `The run is '${status}', not waiting for input.` };
  }
  if (status === "awaiting_input") {
    return {
      code: "not_awaiting_input",
      message: "The run is waiting for input: answer it (approve, reject or answer its question) before stepping it.",
    };
  }
  return { code: "run_finished", message: `The run has already ended with status '${status}'.` };
}
