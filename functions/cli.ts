/**
 * The command line (`deno task cli run "<task>"`, or the binary from `deno task cli:compile`): see cli/main.ts and
 * the README's "Command line".
 */
import { main } from "../cli/main.ts";
import { denoTerminal } from "../cli/terminal.ts";

Deno.exit(await main(Deno.args, denoTerminal()));
