/**
 * The command line: parse, then serve, or run an agent here or on a deployed smolstep, and return the exit code
 * (cli/exit_codes.ts). The entry, functions/cli.ts, passes the Deno terminal and exits with the code. What a command
 * needs is imported when it runs, so `--version` and bad arguments answer without loading the agents.
 */
import { InvalidInputError } from "../lib/errors.ts";
import { VERSION } from "../lib/version.ts";
import { type CliCommand, parseArguments } from "./arguments.ts";
import { EXIT_CODES } from "./exit_codes.ts";
import type { Terminal } from "./terminal.ts";

export async function main(argv: readonly string[], terminal: Terminal): Promise<number> {
  let command: CliCommand;
  try {
    command = parseArguments(argv, terminal.env);
  } catch (error) {
    return usageError(error, terminal);
  }
  switch (command.command) {
    case "help": {
      const [{ usageText }, { exampleAgentNames }, { TOOL_NAMES }] = await Promise.all([
        import("./usage.ts"),
        import("./local_agent.ts"),
        import("./tool_registry.ts"),
      ]);
      terminal.out(usageText(TOOL_NAMES, exampleAgentNames(terminal.env)));
      return EXIT_CODES.succeeded;
    }
    case "version":
      terminal.out(`smolstep ${VERSION} (deno ${Deno.version.deno})\n`);
      return EXIT_CODES.succeeded;
    case "serve":
      return await (await import("./serve.ts")).serve(command);
    case "maintenance":
      return await (await import("./maintenance.ts")).maintenance(command, terminal);
    case "run":
      try {
        return await (await import("./run_command.ts")).runCommand(command, terminal);
      } catch (error) {
        return usageError(error, terminal);
      }
  }
}

/** Bad arguments found after parsing too (an unknown tool or agent): the message, exit code 2. */
function usageError(error: unknown, terminal: Terminal): number {
  if (!(error instanceof InvalidInputError)) throw error;
  terminal.err(`smolstep: ${error.message}\n`);
  return EXIT_CODES.usage;
}
