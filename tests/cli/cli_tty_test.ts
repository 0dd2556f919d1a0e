// deno-lint-ignore-file no-control-regex -- the escape codes are what these tests look for
/**
 * The live display on a real pseudo-terminal (util-linux `script`): colours, highlighted code and the spinner appear
 * on a terminal, and NO_COLOR leaves the colours out.
 */
import assert from "node:assert/strict";
import { CLI_ENTRY, CLI_PERMISSIONS, CLI_ROOT, cliEnv } from "../support/cli_process.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

const hasScript = new Deno.Command("sh", { args: ["-c", "command -v script"], stdout: "null" }).outputSync().success;
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const SGR = /\x1b\[[0-9;]*m/;

/** Runs the CLI under a pseudo-terminal; returns what the terminal received and the CLI's exit code. */
async function runOnTerminal(args: string[], env: Record<string, string> = {}) {
  const command = [Deno.execPath(), "run", ...CLI_PERMISSIONS, CLI_ENTRY, ...args].map(quote).join(" ");
  const output = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: CLI_ROOT,
    clearEnv: true,
    env: cliEnv({ TERM: "xterm-256color", ...env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, screen: new TextDecoder().decode(output.stdout) };
}

const replies = () => [
  'Thought: count.\n<code>\nconst stats = await text_stats({ text: "a b" });\nconsole.log(stats.words);\n</code>',
  'Thought: done.\n<code>\nfinal_answer("two"); // end\n</code>',
];

Deno.test({
  name: "cli run on a terminal: colours, highlighted code and a spinner; NO_COLOR turns the colours off",
  ignore: !hasScript,
  fn: async (t) => {
    await using server = await startScriptedModelServer();
    const args = [
      "run",
      "Count",
      "--tools",
      "text_stats",
      "--model-type",
      "OpenAIServerModel",
      "--model-id",
      "m",
      "--api-base",
      server.url,
    ];

    await t.step("colours and spinner", async () => {
      server.enqueue(...replies());
      const { code, screen } = await runOnTerminal(args);
      assert.equal(code, 0, screen);
      assert.match(screen, /\r\x1b\[2K\x1b\[36m[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\x1b\[39m \x1b\[2mThe model is thinking…/, "spinner");
      assert.match(screen, /\x1b\[1m\x1b\[33m━━━ Step 1 ━━━/, "a coloured rule");
      assert.match(screen, /\x1b\[35mconst\x1b\[39m stats = \x1b\[35mawait\x1b\[39m \x1b\[34mtext_stats\x1b\[39m/);
      assert.match(screen, /\x1b\[32m"two"\x1b\[39m\); \x1b\[2m\/\/ end\x1b\[22m/, "strings and comments");
      assert.match(screen, /Final answer:\x1b\[39m\x1b\[22m two/);
    });

    await t.step("NO_COLOR: the same display, the spinner kept, no colour codes", async () => {
      server.enqueue(...replies());
      const { code, screen } = await runOnTerminal(args, { NO_COLOR: "1" });
      assert.equal(code, 0, screen);
      assert.doesNotMatch(screen, SGR);
      assert.match(screen, /\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] The model is thinking…/);
      assert.match(screen, /━━━ Step 1 ━━━/);
      assert.match(screen, /Final answer: two/);
    });
  },
});
