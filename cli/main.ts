/**
 * The command line: parse, then serve, or run an agent here or on a deployed smolstep, and return the exit code
 * (cli/exit_codes.ts). The entry, functions/cli.ts, passes the Deno terminal and exits with the code.
 */
import { createClient, SmolstepClientError } from "../lib/client.ts";
import { InvalidInputError } from "../lib/errors.ts";
import type { CodeExecutor } from "../lib/executors/executor.ts";
import { VERSION } from "../lib/version.ts";
import { createDenoQuickJSExecutor } from "../lib/adapters/deno/quickjs_wasm_deno.ts";
import { type CliCommand, parseArguments, type RunArguments } from "./arguments.ts";
import { colorWanted, palette } from "./display/ansi.ts";
import type { Display, RunEnd } from "./display/display.ts";
import { JsonPrinter } from "./display/json_printer.ts";
import { StepPrinter } from "./display/step_printer.ts";
import { EXIT_CODES } from "./exit_codes.ts";
import { createLocalAgent, exampleAgentNames } from "./local_agent.ts";
import { runLocal } from "./local_run.ts";
import { createCliModel } from "./model_factory.ts";
import type { Ask } from "./prompts.ts";
import { runRemote } from "./remote_run.ts";
import { serve } from "./serve.ts";
import type { Terminal } from "./terminal.ts";
import { TOOL_NAMES } from "./tool_registry.ts";
import { usageText } from "./usage.ts";

export async function main(argv: readonly string[], terminal: Terminal): Promise<number> {
  let command: CliCommand;
  try {
    command = parseArguments(argv);
  } catch (error) {
    return usageError(error, terminal);
  }
  switch (command.command) {
    case "help":
      terminal.out(usageText(TOOL_NAMES, exampleAgentNames(terminal.env)));
      return EXIT_CODES.succeeded;
    case "version":
      terminal.out(`smolstep ${VERSION} (deno ${Deno.version.deno})\n`);
      return EXIT_CODES.succeeded;
    case "serve":
      return await serve(command);
    case "run":
      return await run(command, terminal);
  }
}

async function run(args: RunArguments, terminal: Terminal): Promise<number> {
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
  let executor: (CodeExecutor & { close(): void }) | undefined;
  try {
    let end: RunEnd;
    if (args.remote) {
      const apiKey = args.apiKey ?? terminal.env.SMOLSTEP_API_KEY;
      const client = createClient({ baseUrl: args.remote, apiKey });
      const options = { client, url: args.remote, display, ask, interrupt: interrupts.signal };
      end = await runRemote({ ...options, task: args.task, agent: args.agent, maxSteps: args.maxSteps });
    } else {
      const model = await createCliModel(args, terminal.env);
      const agent = createLocalAgent(args, {
        model,
        env: terminal.env,
        executor: () =>
          executor ??= createDenoQuickJSExecutor({
            timeLimitMs: Number(terminal.env.SMOLSTEP_CODE_TIME_LIMIT_MS) || undefined,
            workerPermissions: "none",
          }),
      });
      const modelLabel = `${args.modelType} ${model.modelId ?? ""}`.trim();
      const options = { task: args.task, maxSteps: args.maxSteps, display, ask, interrupt: interrupts.signal };
      end = await runLocal(agent, { ...options, modelLabel });
    }
    display.end(end);
    if (end.exitCode === EXIT_CODES.usage && end.error) terminal.err(`smolstep: ${end.error.message}\n`);
    return end.exitCode;
  } catch (error) {
    display.pause();
    if (error instanceof InvalidInputError) return usageError(error, terminal);
    terminal.err(`smolstep: ${describe(error)}\n`);
    return interrupts.signal.aborted ? EXIT_CODES.interrupted : EXIT_CODES.failed;
  } finally {
    stopListening();
    executor?.close();
  }
}

function usageError(error: unknown, terminal: Terminal): number {
  if (!(error instanceof InvalidInputError)) throw error;
  terminal.err(`smolstep: ${error.message}\n`);
  return EXIT_CODES.usage;
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
