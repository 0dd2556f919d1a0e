import assert from "node:assert/strict";
import { DEFAULT_TASK, parseArguments, type RunArguments } from "../../cli/arguments.ts";
import { EXIT_CODES, exitCodeOf } from "../../cli/exit_codes.ts";
import { InvalidInputError } from "../../lib/errors.ts";

const run = (...argv: string[]) => parseArguments(argv) as RunArguments;
const refused = (argv: string[], message: RegExp) =>
  assert.throws(
    () => parseArguments(argv),
    (error) => error instanceof InvalidInputError && message.test(error.message),
  );

Deno.test("parseArguments", async (t) => {
  await t.step(
    "smolagents' defaults: a code agent, InferenceClientModel, the default tools left to the builder",
    () => {
      const args = run("run", "What is 2+2?");
      assert.deepEqual(args, {
        command: "run",
        task: "What is 2+2?",
        agent: undefined,
        tools: undefined,
        agentType: "code",
        modelType: "InferenceClientModel",
        modelId: undefined,
        apiBase: undefined,
        apiKey: undefined,
        provider: undefined,
        maxSteps: undefined,
        planningInterval: undefined,
        imports: undefined,
        confirmTools: [],
        json: false,
        remote: undefined,
      });
    },
  );

  await t.step("no task: smolagents' default task (its leopard_prompt), as `smolagent` alone runs it", () => {
    assert.equal(
      DEFAULT_TASK,
      "How many seconds would it take for a leopard at full speed to run through Pont des Arts?",
    );
    assert.equal(run().task, DEFAULT_TASK);
    assert.equal(run("run").task, DEFAULT_TASK);
    const args = run("--tools", "calculator", "--max-steps", "3");
    assert.deepEqual([args.task, args.tools, args.maxSteps], [DEFAULT_TASK, ["calculator"], 3]);
    assert.equal(run("run", "--agent", "assistant", "--json").task, DEFAULT_TASK);
  });

  await t.step('`run` may be left out, as with smolagents\' `smolagent "task"`', () => {
    assert.equal(run("Count to three").task, "Count to three");
  });

  await t.step("every option, with both `--name value` and `--name=value`", () => {
    const args = run(
      "run",
      "task",
      "--tools",
      "web_search",
      "visit_webpage,calculator",
      "--agent-type=tool-calling",
      "--model-type",
      "OpenAIServerModel",
      "--model-id",
      "gpt-4o-mini",
      "--api-base=http://127.0.0.1:1/v1",
      "--api-key",
      "k",
      "--max-steps",
      "4",
      "--planning-interval=2",
      "--confirm-tools",
      "calculator",
      "--json",
    );
    assert.deepEqual(args.tools, ["web_search", "visit_webpage", "calculator"]);
    assert.equal(args.agentType, "tool-calling");
    assert.equal(args.modelType, "OpenAIServerModel");
    assert.equal(args.modelId, "gpt-4o-mini");
    assert.equal(args.apiBase, "http://127.0.0.1:1/v1");
    assert.equal(args.apiKey, "k");
    assert.equal(args.maxSteps, 4);
    assert.equal(args.planningInterval, 2);
    assert.deepEqual(args.confirmTools, ["calculator"]);
    assert.equal(args.json, true);
  });

  await t.step("smolagents' spellings: --action-type tool_calling, --base-url, space-separated --imports", () => {
    const args = run("task", "--action-type", "tool_calling", "--base-url", "http://x/v1");
    assert.equal(args.agentType, "tool-calling");
    assert.equal(args.apiBase, "http://x/v1");
    assert.deepEqual(run("task", "--imports", "math", "json", "--json").imports, ["math", "json"]);
  });

  await t.step("a list option stops at a sentence, so a task after it is still the task", () => {
    const args = run("--tools", "calculator", "What is 2 + 2?");
    assert.deepEqual(args.tools, ["calculator"]);
    assert.equal(args.task, "What is 2 + 2?");
    assert.deepEqual(run("task", "--tools").tools, [], "--tools with no names: no tools (smolagents' nargs='*')");
  });

  await t.step("--remote with its agent and key; --help and --version win over everything else", () => {
    const args = run("task", "--remote", "https://agents.example.com", "--agent", "assistant", "--api-key", "s");
    assert.equal(args.remote, "https://agents.example.com");
    assert.equal(args.agent, "assistant");
    assert.deepEqual(parseArguments(["run", "--bogus", "--help"]), { command: "help" });
    assert.deepEqual(parseArguments(["help"]), { command: "help" });
    assert.deepEqual(parseArguments(["-V"]), { command: "version" });
  });

  await t.step("serve with a port and a host", () => {
    assert.deepEqual(parseArguments(["serve", "--port", "8123", "--hostname=0.0.0.0"]), {
      command: "serve",
      port: 8123,
      hostname: "0.0.0.0",
    });
  });

  await t.step("bad arguments are InvalidInputErrors that say what is wrong", () => {
    refused(["run", "a", "b"], /One task, quoted/);
    refused(["run", "task", "--bogus"], /Unknown option --bogus/);
    refused(["run", "task", "--model-type", "GPT"], /--model-type must be one of InferenceClientModel/);
    refused(["run", "task", "--agent-type", "react"], /--agent-type must be one of code, tool-calling/);
    refused(["run", "task", "--max-steps", "0"], /--max-steps must be a whole number/);
    refused(["run", "task", "--max-steps", "2.5"], /--max-steps must be a whole number/);
    refused(["run", "task", "--model-id"], /--model-id needs a value/);
    refused(["run", "task", "--model-id", "--json"], /--model-id needs a value/);
    refused(["run", "task", "--json=yes"], /--json takes no value/);
    refused(["run", "task", "--port", "80"], /--port is an option of `serve`/);
    refused(["serve", "task"], /`serve` takes no task/);
    refused(["serve", "--port", "70000"], /at most 65535/);
    refused(["run", "task", "--agent", "assistant", "--tools", "calculator"], /exclude each other/);
    refused(["run", "task", "--agent", "assistant", "--agent-type", "code"], /--agent-type applies/);
    refused(["run", "task", "--remote", "http://h", "--tools", "calculator"], /--tools applies to a local run/);
    refused(["run", "task", "--remote", "http://h", "--model-type", "OpenAIServerModel"], /--model-type applies/);
    refused(["run", "task", "--remote", "http://h", "--confirm-tools", "all"], /--confirm-tools applies/);
    refused(["run", "task", "--remote", "ftp://h"], /--remote must be an http\(s\) URL/);
  });
});

Deno.test("exit codes per final status", () => {
  assert.equal(exitCodeOf("succeeded"), 0);
  assert.equal(exitCodeOf("failed"), EXIT_CODES.failed);
  assert.equal(exitCodeOf("max_steps_error"), EXIT_CODES.maxSteps);
  assert.equal(exitCodeOf("cancelled"), EXIT_CODES.cancelled);
  assert.equal(exitCodeOf("expired"), EXIT_CODES.expired);
  assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.keys(EXIT_CODES).length, "codes are distinct");
});
