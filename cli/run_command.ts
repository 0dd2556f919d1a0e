/**
 * `run`: the display (live or `--json`), the prompt, Ctrl-C, then a run here (local_command.ts, imported only then)
 * or on a server (remote_run.ts). Returns the exit code; bad names found while building the agent are thrown as
 * `InvalidInputError`s for main.ts to report.
 */
import { createClient, SmolstepClientError } from "../lib/client.ts";
import { InvalidInputError } from "../lib/errors.ts";
import type { RunArguments } from "./arguments.ts";
import { colorWanted, palette } from "./display/ansi.ts";
import type { Display, RunEnd } from "./display/display.ts";
import { JsonPrinter } from "./display/json_printer.ts";
import { StepPrinter } from "./display/step_printer.ts";
import { EXIT_CODES } from "./exit_codes.ts";
import type { Ask } from "./prompts.ts";
import { runRemote } from "./remote_run.ts";
import type { Terminal } from "./terminal.ts";

export async function runCommand(args: RunArguments, terminal: Terminal): Promise<number> {
  const interrupts = new AbortController();
  const stopListening = terminal.onInterrupt(() => {
    // A second Ctrl-C does not wait for the cancellation.
    if (interrupts.signal.aborted) terminal.exit(EXIT_CODES.interrupted);
    interrupts.abort(new DOMException("Interrupted (Ctrl-C).", "AbortError"));
  });
  const color = colorWanted(terminal.stdoutIsTerminal, terminal.env);
  const display: Display = args.json
    ? new JsonPrinter(terminal.out, terminal.err)
    : new StepPrinter(terminal.out, palette(color), terminal.stdoutIsTerminal);
  const ask: Ask = (question) => {
    display.pause();
    (args.json ? terminal.err : terminal.out)(question);
    return abortable(terminal.readLine(), interrupts.signal);
  };
  const session = { display, ask, interrupt: interrupts.signal };
  try {
    let end: RunEnd;
    if (args.remote) {
      const client = createClient({ baseUrl: args.remote, apiKey: args.apiKey ?? terminal.env.SMOLSTEP_API_KEY });
      const { task, agent, maxSteps } = args;
      end = await runRemote({ ...session, client, url: args.remote, task, agent, maxSteps });
    } else {
      end = await (await import("./local_command.ts")).runHere(args, terminal.env, session);
    }
    display.end(end);
    if (end.exitCode === EXIT_CODES.usage && end.error) terminal.err(`smolstep: ${end.error.message}\n`);
    return end.exitCode;
  } catch (error) {
    display.pause();
    if (error instanceof InvalidInputError) throw error;
    terminal.err(`smolstep: ${describe(error)}\n`);
    return interrupts.signal.aborted ? EXIT_CODES.interrupted : EXIT_CODES.failed;
  } finally {
    stopListening();
  }
}

/** An error for the person: a server's answer with its status and code (`401 unauthorized: ...`). */
function describe(error: unknown): string {
  if (error instanceof SmolstepClientError) {
    return `the server answered ${error.status} ${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** `promise`, or a rejection with the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
