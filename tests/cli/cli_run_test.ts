/**
 * The real command line (`functions/cli.ts`, as `deno task cli` runs it) against the scripted model server: what it
 * prints on a pipe, its JSON events, prompts answered on stdin, exit codes, Ctrl-C.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli } from "../support/cli_process.ts";
import { freePort } from "../support/wrangler_dev.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const model = (server: ScriptedModelServer) => [
  "--model-type",
  "OpenAIServerModel",
  "--model-id",
  "scripted",
  "--api-base",
  server.url,
  "--api-key",
  "test-key",
];
const toolCalling = ["--agent-type", "tool-calling"];
const answer = (text: string) => toolCallReply("final_answer", { answer: text });
const hasAnsi = (text: string) => text.includes("\x1b[");

Deno.test("cli run: a code agent's steps, printed on a pipe without escape codes", async () => {
  await using server = await startScriptedModelServer({
    replies: [
      'Thought: I count the words first.\n<code>\nconst stats = await text_stats({ text: "one two three" });\nconsole.log(stats.words);\n</code>',
      'Thought: I have it.\n<code>\nfinal_answer("three words"); // done\n</code>',
    ],
  });
  const { code, stdout, stderr } = await runCli(["run", "Count the words", "--tools", "text_stats", ...model(server)]);
  assert.equal(code, 0, stderr);
  assert.ok(!hasAnsi(stdout), "no ANSI codes on a pipe");
  assert.match(stdout, /^New run agent \(CodeAgent · OpenAIServerModel scripted\)\nCount the words\n/);
  const expected = [
    "━━━ Step 1 ━━━",
    "Thought: I count the words first.", // streamed
    "─ Executing code ─",
    'const stats = await text_stats({ text: "one two three" });',
    "Observations: Execution logs:\n3",
    "[Step 1: Duration ",
    "━━━ Step 2 ━━━",
    "Thought: I have it.",
    'final_answer("three words"); // done',
    "[Step 2: Duration ",
    "Final answer: three words",
    "✔ succeeded [",
  ];
  let from = 0;
  for (const piece of expected) {
    const at = stdout.indexOf(piece, from);
    assert.ok(at >= 0, `'${piece}' after offset ${from} in:\n${stdout}`);
    from = at + piece.length;
  }
  assert.match(stdout, /\[Step 1: Duration \d+\.\d\d seconds \| Input tokens: [\d,]+ \| Output tokens: \d+\]/);
  assert.match(stdout, /exit 0\]\n$/);
  const completions = server.requests.filter((request) => request.method === "POST");
  assert.equal(completions.length, 2);
  assert.ok(completions.every((request) => request.body.stream === true), "the model was streamed");
  assert.equal(completions[0].headers.authorization, "Bearer test-key");
});

Deno.test("cli run --json: one parseable event per line, deltas included, then the end", async () => {
  await using server = await startScriptedModelServer({
    replies: [toolCallReply("reverse_words", { text: "a b c" }), answer("c b a")],
  });
  const { code, stdout, stderr } = await runCli([
    "run",
    "Reverse a b c",
    "--tools",
    "reverse_words",
    ...toolCalling,
    "--json",
    ...model(server),
  ]);
  assert.equal(code, 0, stderr);
  const events = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  const kinds = events.map((event) => event.type).filter((type, i, all) => type !== all[i - 1]);
  assert.deepEqual(kinds, ["start", "delta", "step", "delta", "step", "final_answer", "end"]);
  assert.deepEqual(events[0], {
    type: "start",
    task: "Reverse a b c",
    agent: "agent",
    kind: "ToolCallingAgent",
    model: "OpenAIServerModel scripted",
  });
  const step = events.find((event) => event.type === "step").step;
  assert.deepEqual(step.toolCalls.map((call: { name: string }) => call.name), ["reverse_words"]);
  assert.equal(step.observations, "c b a");
  const end = events.at(-1);
  assert.equal(end.status, "succeeded");
  assert.equal(end.output, "c b a");
  assert.equal(end.exitCode, 0);
  assert.ok(end.tokenUsage.inputTokens > 0);
});

Deno.test("cli run: approvals and questions answered at the prompt, on stdin", async (t) => {
  const args = (server: ScriptedModelServer, ...more: string[]) => [
    "run",
    "Reverse a b c",
    ...toolCalling,
    ...model(server),
    ...more,
  ];
  await t.step("y approves: the tool runs", async () => {
    await using server = await startScriptedModelServer({
      replies: [toolCallReply("reverse_words", { text: "a b c" }), answer("c b a")],
    });
    const cli = args(server, "--tools", "reverse_words", "--confirm-tools", "reverse_words");
    const { code, stdout, stderr } = await runCli(cli, { stdin: "y\n" });
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /⏸ Approval needed: reverse_words\(\{"text":"a b c"\}\)\nRun reverse_words\(\{"text":"a b c"\}\)\? \[y\/n\] /,
    );
    assert.match(stdout, /Observations: c b a/);
    assert.match(stdout, /Final answer: c b a/);
  });

  await t.step("an unclear reply asks again; n rejects: the tool never runs and the model is told", async () => {
    await using server = await startScriptedModelServer({
      replies: [toolCallReply("reverse_words", { text: "a b c" }), answer("not allowed")],
    });
    const cli = args(server, "--tools", "reverse_words", "calculator", "--confirm-tools", "all");
    const { code, stdout, stderr } = await runCli(cli, { stdin: "maybe\nn\n" });
    assert.equal(code, 0, stderr);
    assert.equal(stdout.split("? [y/n] ").length - 1, 2, "asked twice");
    assert.doesNotMatch(stdout, /Observations: c b a/);
    const toolMessage = JSON.stringify(server.lastRequest!.body.messages);
    assert.match(toolMessage, /rejected the call at the prompt/);
  });

  await t.step("--json: the pause is an event on stdout, the question goes to stderr", async () => {
    await using server = await startScriptedModelServer({
      replies: [toolCallReply("reverse_words", { text: "a b c" }), answer("c b a")],
    });
    const cli = args(server, "--tools", "reverse_words", "--confirm-tools", "reverse_words", "--json");
    const { code, stdout, stderr } = await runCli(cli, { stdin: "yes\n" });
    assert.equal(code, 0, stderr);
    const events = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    const pause = events.find((event) => event.type === "awaiting_input");
    assert.deepEqual(pause.pending.toolCalls.map((call: { name: string }) => call.name), ["reverse_words"]);
    assert.equal(stderr, 'Run reverse_words({"text":"a b c"})? [y/n] ');
    assert.equal(events.at(-1).output, "c b a");
  });

  await t.step("user_input: the agent's question answered with a line", async () => {
    await using server = await startScriptedModelServer({
      replies: [toolCallReply("user_input", { question: "Which city?" }), answer("Paris it is")],
    });
    const { code, stdout, stderr } = await runCli(args(server, "--tools", "user_input"), { stdin: "Paris\n" });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /\? The agent asks: Which city\?\nYour answer: /);
    assert.match(JSON.stringify(server.lastRequest!.body.messages), /Paris/);
  });

  await t.step("stdin closed before an answer: the run is cancelled, exit 4", async () => {
    await using server = await startScriptedModelServer({
      replies: [toolCallReply("reverse_words", { text: "a b c" })],
    });
    const cli = args(server, "--tools", "reverse_words", "--confirm-tools", "reverse_words");
    const { code, stdout } = await runCli(cli, { stdin: "" });
    assert.equal(code, 4, stdout);
    assert.match(stdout, /The input closed before an answer: the run is cancelled\./);
    assert.match(stdout, /✘ cancelled/);
  });
});

Deno.test("cli run --agent: an example agent, rebuilt around the command's model and settings", async () => {
  await using server = await startScriptedModelServer({
    replies: [toolCallReply("calculator", { expression: "6*7" }), answer("42")],
  });
  const { code, stdout, stderr } = await runCli(["run", "6 times 7?", "--agent", "assistant", ...model(server)]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^New run assistant \(ToolCallingAgent · OpenAIServerModel scripted\)/);
  assert.match(stdout, /→ calculator\(\{"expression":"6\*7"\}\)\nObservations: 42/);
  assert.match(stdout, /Final answer: 42/);
  const tools = server.requests[0].body.tools!.map((tool) => tool.function.name);
  assert.deepEqual(tools.sort(), ["calculator", "current_time", "final_answer", "reverse_words", "text_stats"]);
});

Deno.test("cli run: exit codes", async (t) => {
  await t.step("max steps reached: 3, with the model's last answer", async () => {
    await using server = await startScriptedModelServer({
      replies: [toolCallReply("reverse_words", { text: "x y" }), "I could not finish."],
    });
    const cli = ["run", "task", "--tools", "reverse_words", ...toolCalling, "--max-steps", "1", ...model(server)];
    const { code, stdout } = await runCli(cli);
    assert.equal(code, 3, stdout);
    assert.match(stdout, /Final answer \(max_steps_error\): I could not finish\./);
  });

  await t.step("the model refuses the request: failed, 1", async () => {
    await using server = await startScriptedModelServer({ replies: [{ status: 400, error: "bad request body" }] });
    const { code, stdout } = await runCli(["run", "task", "--tools", "calculator", ...toolCalling, ...model(server)]);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /AgentGenerationError: .*bad request body/);
    assert.match(stdout, /✘ failed/);
  });

  await t.step("bad arguments: 2, a message on stderr, nothing on stdout", async () => {
    for (
      const [argv, message] of [
        [["run", "task", "--max-steps", "none"], /--max-steps must be a whole number/],
        [["run", "task", "--tools", "nope"], /Unknown tool\(s\) nope\. Known tools: web_search/],
        [["run", "task", "--agent", "nobody"], /Unknown agent 'nobody'\. Example agents: assistant, researcher, coder/],
        [["run", "task", "--tools", "calculator", "--confirm-tools", "calculator"], /need a tool-calling agent/],
        [["run", "task", "--agent", "assistant", "--imports", "math"], /'assistant' is a ToolCallingAgent/],
        [["run", "task", "--tools", "calculator", "--confirm-tools", "web_search"], /the agent has no tool web_search/],
      ] as const
    ) {
      const { code, stdout, stderr } = await runCli([...argv]);
      assert.equal(code, 2, `${argv.join(" ")}: ${stderr}`);
      assert.equal(stdout, "");
      assert.match(stderr, message);
    }
  });

  await t.step("--help and --version: 0", async () => {
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--model-type <class>/);
    assert.match(help.stdout, /130 interrupted \(Ctrl-C\)/);
    const version = await runCli(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^smolstep \d+\.\d+\.\d+ \(deno /);
  });
});

Deno.test("cli run: Ctrl-C while the model works interrupts the run, exit 130", async () => {
  await using server = await startScriptedModelServer({ replies: [{ content: "never sent", delayMs: 60_000 }] });
  const { child, result } = spawnCli(["run", "task", "--tools", "calculator", ...toolCalling, ...model(server)]);
  while (!server.requests.some((request) => request.method === "POST")) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGINT");
  const { code, stdout } = await result;
  assert.equal(code, 130, stdout);
  assert.match(stdout, /✘ interrupted \[.* \| exit 130\]/);
});

Deno.test("cli serve --port: the Deno entry answers on that port", async () => {
  const port = freePort();
  const kvDir = await Deno.makeTempDir({ prefix: "smolstep-cli-serve-" });
  const { child, result } = spawnCli(["serve", "--port", String(port)], {
    env: { SMOLSTEP_KV_PATH: `${kvDir}/kv.sqlite3`, SMOLSTEP_SECRET: "cli-serve-test-secret-0123456789" },
  });
  try {
    let health: { ok?: boolean } = {};
    for (let attempt = 0; attempt < 600 && !health.ok; attempt++) {
      try {
        health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.equal(health.ok, true);
    const agents = await (await fetch(`http://127.0.0.1:${port}/v1/agents`)).json();
    assert.deepEqual(agents.agents.map((agent: { name: string }) => agent.name), ["assistant", "researcher", "coder"]);
  } finally {
    child.kill("SIGTERM");
    await result;
    await Deno.remove(kvDir, { recursive: true });
  }
});

Deno.test("cli run: a malformed SMOLSTEP_CODE_TIME_LIMIT_MS is refused, as the server refuses it", async () => {
  // It went through Number(...) || undefined: "5000ms" ran the code agent under the 30 s default, silently.
  await using server = await startScriptedModelServer({ replies: ['<code>\nfinal_answer("done");\n</code>'] });
  const env = { SMOLSTEP_CODE_TIME_LIMIT_MS: "5000ms" };
  const refused = await runCli(["run", "Answer", "--tools", "calculator", ...model(server)], { env });
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /SMOLSTEP_CODE_TIME_LIMIT_MS must be a whole number/);
  assert.equal(server.requests.length, 0, "refused before any model call");
  const taken = await runCli(["run", "Answer", "--tools", "calculator", ...model(server)], {
    env: { SMOLSTEP_CODE_TIME_LIMIT_MS: "5000" },
  });
  assert.equal(taken.code, 0, taken.stderr);
  assert.match(taken.stdout, /Final answer: done/);
});
