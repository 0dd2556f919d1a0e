/** The process's exit code per how the run ended (README "Command line" has the same table). */
import type { RunStatus } from "../lib/client.ts";

export const EXIT_CODES = {
  succeeded: 0,
  /** The run failed (a model error, a step refused), or the command could not start it. */
  failed: 1,
  /** Bad arguments: the message says which. */
  usage: 2,
  /** The run used its steps without an answer (smolagents' max steps error). */
  maxSteps: 3,
  /** The run was cancelled: a prompt's input closed, or the server's run was cancelled. */
  cancelled: 4,
  /** A remote run that expired on the server. */
  expired: 5,
  /** Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

/** The exit code of a run that ended with `status`. */
export function exitCodeOf(status: RunStatus): number {
  switch (status) {
    case "succeeded":
      return EXIT_CODES.succeeded;
    case "max_steps_error":
      return EXIT_CODES.maxSteps;
    case "cancelled":
    case "awaiting_input":
      return EXIT_CODES.cancelled;
    case "expired":
      return EXIT_CODES.expired;
    default:
      return EXIT_CODES.failed;
  }
}
