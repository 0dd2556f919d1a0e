// Behaviour-level tests ported from smolagents' tests/test_agents.py, each named after its source test. Python's
// python_interpreter becomes our calculator (ToolCallingAgent) or the JavaScript sandbox (CodeAgent); smolagents'
// memory.steps is our state.steps, which also holds the closing `final_answer` record (README: differs on purpose).
import assert from "node:assert/strict";
import { z } from "zod";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { ToolCallingAgent } from "../../lib/agents/tool_calling_agent.ts";
import { CODE_TOOL_NAME, CodeAgent } from "../../lib/agents/code_agent.ts";
import { MultiStepAgent } from "../../lib/agents/multi_step_agent.ts";
import { maxStepsAnswerMessages } from "../../lib/memory/memory_to_messages.ts";
import { AgentError, AgentGenerationError } from "../../lib/errors.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import { FinalAnswerTool } from "../../lib/tools/final_answer_tool.ts";
import { Tool, tool } from "../../lib/tools/tool.ts";
import type { ToolInputs } from "../../lib/tools/tool_inputs.ts";
import type { ActionStep, StepRecord } from "../../lib/memory/step_records.ts";
import type { RunResult } from "../../lib/agents/agent_events.ts";
import type { ModelFunction } from "../../lib/models/model.ts";
import { functionModel, type FunctionReply } from "../support/function_model.ts";

const executor = createDenoQuickJSExecutor({ timeLimitMs: 3_000 });
const actions = (steps: StepRecord[]) => steps.filter((s): s is ActionStep => s.type === "action");
/** smolagents' memory.steps: our steps without the closing final_answer record. */
const memorySteps = (steps: StepRecord[]) => steps.filter((s) => s.type !== "final_answer");

/** smolagents' tests/fixtures/tools.py `test_tool`. */
class TestTool extends Tool<{ input: string }, string> {
  readonly name = "test_tool";
  readonly description = "A test tool";
  readonly inputs: ToolInputs = { input: { type: "string", description: "Input value" } };
  readonly outputType = "string" as const;
  forward({ input }: { input: string }): string {
    if (input === "error") throw new Error("Tool execution error");
    return `Processed: ${input}`;
  }
}

/** smolagents' FakeCodeModel: a code step, then (once its marker is in the memory) final_answer(7.2904). */
function fakeCodeModel(): ModelFunction {
  return (messages) =>
    JSON.stringify(messages).includes("special_marker")
      ? "Thought: I can now answer the initial question\n<code>\nfinal_answer(7.2904);\n</code>"
      : "Thought: I should multiply 2 by 3.6452. special_marker\n<code>\nconst result = 2 ** 3.6452;\n</code>";
}

/** smolagents' FakeCodeModelNoReturn: code that never gives an answer (so runs end at max steps). */
const noReturnModel: ModelFunction = () => "Thought: print it.\n<code>\nconst result = 2 * 3.6452;\nprint(result);\n";

/** smolagents' CustomFinalAnswerToolWithCustomInputs: two inputs, joined by `separator`. */
function customFinalAnswerToolWithCustomInputs(separator: string): Tool {
  class CustomFinalAnswerToolWithCustomInputs extends Tool<{ answer1: string; answer2: string }, string> {
    readonly name = "final_answer";
    readonly description = "Provides a final answer to the given problem.";
    readonly inputs: ToolInputs = {
      answer1: { type: "string", description: "First part of the answer." },
      answer2: { type: "string", description: "Second part of the answer." },
    };
    readonly outputType = "string" as const;
    forward({ answer1, answer2 }: { answer1: string; answer2: string }) {
      return `${answer1}${separator}${answer2}`;
    }
  }
  return new CustomFinalAnswerToolWithCustomInputs();
}

/** A one-step run (then the max-steps answer) whose reply makes these tool calls; the action step. */
async function stepWithCalls(calls: Array<[string, unknown]>): Promise<ActionStep> {
  const { model } = functionModel([{ calls }, "best answer"]);
  const agent = new ToolCallingAgent({ model, tools: [new TestTool()], maxSteps: 1 });
  await agent.run("Dummy task");
  return agent.lastState!.steps[1] as ActionStep;
}

// --- TestAgent ---

// smolagents: test_agents.py::TestAgent::test_fake_toolcalling_agent
Deno.test("test_fake_toolcalling_agent", async () => {
  const { model } = functionModel([
    { content: "I will call the calculator.", calls: [["calculator", { expression: "2*3.6452" }]] },
    { content: "I will return the final answer.", calls: [["final_answer", { answer: "7.2904" }]] },
  ]);
  const agent = new ToolCallingAgent({ tools: [calculatorTool], model });
  const output = await agent.run("What is 2 multiplied by 3.6452?");
  assert.equal(typeof output, "string");
  assert.match(String(output), /7\.2904/);
  const steps = agent.lastState!.steps;
  assert.equal(steps[0].type === "task" && steps[0].task, "What is 2 multiplied by 3.6452?");
  assert.match((steps[1] as ActionStep).observations!, /7\.2904/);
  assert.equal((steps[2] as ActionStep).modelOutput, "I will return the final answer.");
});

// smolagents: test_agents.py::TestAgent::test_fake_code_agent
Deno.test("test_fake_code_agent", async () => {
  const agent = new CodeAgent({ tools: [], model: fakeCodeModel(), executor });
  const output = await agent.run("What is 2 multiplied by 3.6452?");
  assert.equal(output, 7.2904);
  const steps = agent.lastState!.steps;
  assert.equal(steps[0].type === "task" && steps[0].task, "What is 2 multiplied by 3.6452?");
  assert.deepEqual((steps[2] as ActionStep).toolCalls, [
    { name: CODE_TOOL_NAME, arguments: "final_answer(7.2904);", id: "call_2" },
  ]);
});

// smolagents: test_agents.py::TestAgent::test_additional_args_added_to_task
Deno.test("test_additional_args_added_to_task", async () => {
  const agent = new CodeAgent({ tools: [], model: fakeCodeModel(), executor });
  await agent.run("What is 2 multiplied by 3.6452?", { additionalArgs: { instruction: "Remember this." } });
  const task = agent.lastState!.steps[0];
  assert.match(task.type === "task" ? task.task : "", /Remember this/);
});

// smolagents: test_agents.py::TestAgent::test_reset_conversations
Deno.test("test_reset_conversations", async () => {
  const model = fakeCodeModel();
  const agent = new CodeAgent({ tools: [], model, executor });
  assert.equal(await agent.run("What is 2 multiplied by 3.6452?", { reset: true }), 7.2904);
  assert.equal(memorySteps(agent.lastState!.steps).length, 3);
  assert.equal(await agent.run("What is 2 multiplied by 3.6452?", { reset: false }), 7.2904);
  assert.equal(memorySteps(agent.lastState!.steps).length, 5);
  assert.equal(await agent.run("What is 2 multiplied by 3.6452?", { reset: true }), 7.2904);
  assert.equal(memorySteps(agent.lastState!.steps).length, 3);
});

// smolagents: test_agents.py::TestAgent::test_setup_agent_with_empty_toolbox
Deno.test("test_setup_agent_with_empty_toolbox", () => {
  const agent = new ToolCallingAgent({ model: () => "", tools: [] });
  assert.deepEqual([...agent.tools.keys()], ["final_answer"]);
});

// smolagents: test_agents.py::TestAgent::test_fails_max_steps
Deno.test("test_fails_max_steps", async () => {
  const agent = new CodeAgent({ tools: [], model: noReturnModel, executor, maxSteps: 5 });
  let answer = await agent.run("What is 2 multiplied by 3.6452?");
  let steps = memorySteps(agent.lastState!.steps);
  assert.equal(steps.length, 7, "task step + 5 action steps + the max-steps answer step");
  assert.equal((steps.at(-1) as ActionStep).error?.type, "AgentMaxStepsError");
  assert.equal(typeof answer, "string");

  answer = await agent.run("What is 2 multiplied by 3.6452?", { maxSteps: 3 });
  steps = memorySteps(agent.lastState!.steps);
  assert.equal(steps.length, 5, "task step + 3 action steps + the max-steps answer step");
  assert.equal((steps.at(-1) as ActionStep).error?.type, "AgentMaxStepsError");
  assert.equal(typeof answer, "string");
});

// smolagents: test_agents.py::TestAgent::test_tool_descriptions_get_baked_in_system_prompt
Deno.test("test_tool_descriptions_get_baked_in_system_prompt", () => {
  const fake = tool({
    name: "fake_tool_name",
    description: "fake_tool_description",
    inputs: z.object({ code: z.string() }),
    run: () => "",
  });
  const agent = new CodeAgent({ tools: [fake], model: () => "", executor });
  assert.match(agent.systemPrompt, /declare function fake_tool_name\(/);
  assert.match(agent.systemPrompt, /\* fake_tool_description/);
});

// smolagents: test_agents.py::TestAgent::test_init_agent_with_different_toolsets
Deno.test("test_init_agent_with_different_toolsets", () => {
  assert.equal(new CodeAgent({ tools: [], model: () => "", executor }).tools.size, 1, "only final_answer");
  assert.throws(
    () => new CodeAgent({ tools: [calculatorTool, calculatorTool], model: () => "", executor }),
    /names must be unique/,
  );
  const namedLikeATool = new CodeAgent({ name: "calculator", description: "empty", model: () => "", executor });
  assert.throws(
    () => new CodeAgent({ tools: [calculatorTool], model: () => "", executor, managedAgents: [namedLikeATool] }),
    /already taken/,
  );
});

// smolagents: test_agents.py::TestAgent::test_init_managed_agent
Deno.test("test_init_managed_agent", () => {
  const agent = new CodeAgent({ tools: [], model: () => "", executor, name: "managed_agent", description: "Empty" });
  assert.equal(agent.name, "managed_agent");
  assert.equal(agent.description, "Empty");
});

// smolagents: test_agents.py::TestAgent::test_agent_description_gets_correctly_inserted_in_system_prompt
Deno.test("test_agent_description_gets_correctly_inserted_in_system_prompt", () => {
  const managed = new CodeAgent({ tools: [], model: () => "", executor, name: "managed_agent", description: "Empty" });
  const manager = new CodeAgent({ tools: [], model: () => "", executor, managedAgents: [managed] });
  assert.doesNotMatch(managed.systemPrompt, /Team member/);
  assert.doesNotMatch(managed.systemPrompt, /\{\{/, "no placeholder left");
  assert.match(manager.systemPrompt, /Team member \(managed agent\): Empty/);
  assert.match(manager.systemPrompt, /declare function managed_agent\(/);
});

// smolagents: test_agents.py::TestAgent::test_code_nontrivial_final_answer_works
Deno.test("test_code_nontrivial_final_answer_works", async () => {
  const model: ModelFunction = () =>
    '<code>\nfunction nested_answer() {\n  final_answer("Correct!");\n}\n\nnested_answer();\n</code>';
  const agent = new CodeAgent({ tools: [], model, executor });
  assert.equal(await agent.run("Count to 3"), "Correct!");
});

// smolagents: test_agents.py::TestAgent::test_final_answer_checks
Deno.test("test_final_answer_checks", async (t) => {
  await t.step("a check that throws is an error the model sees", async () => {
    function check_always_fails(): boolean {
      throw new Error("Error raised in check");
    }
    const agent = new CodeAgent({
      model: fakeCodeModel(),
      tools: [],
      executor,
      finalAnswerChecks: [check_always_fails],
      maxSteps: 2,
    });
    await agent.run("Dummy task.");
    const memory = JSON.stringify(agent.writeMemoryToMessages(agent.lastState!));
    assert.match(memory, /failed with error/);
    assert.match(memory, /Error raised in check/);
    assert.match(memory, /Check check_always_fails failed with error: Error raised in check/);
  });

  await t.step("a passing check lets the answer through", async () => {
    const agent = new CodeAgent({
      model: fakeCodeModel(),
      tools: [],
      executor,
      finalAnswerChecks: [(x, _memory, _agent) => x === 7.2904],
    });
    assert.equal(await agent.run("Dummy task."), 7.2904);
    assert.equal(actions(agent.lastState!.steps).length, 2);
    assert.doesNotMatch(JSON.stringify(agent.writeMemoryToMessages(agent.lastState!)), /failed with error/);
  });
});

// smolagents: test_agents.py::TestAgent::test_final_answer_checks_with_agent_access
Deno.test("test_final_answer_checks_with_agent_access", async () => {
  const seen: unknown[] = [];
  function check_uses_agent_properties(answer: unknown, memory: { task: string }, agent: MultiStepAgent) {
    seen.push(agent instanceof MultiStepAgent, memory.task);
    return typeof answer !== "string" || answer.length > 0;
  }
  const passing = new CodeAgent({
    model: fakeCodeModel(),
    tools: [],
    executor,
    finalAnswerChecks: [check_uses_agent_properties],
  });
  assert.equal(await passing.run("Dummy task."), 7.2904);
  assert.deepEqual(seen, [true, "Dummy task."]);

  const expected = "wrong answer";
  function check_uses_agent_state(answer: unknown) {
    return answer === expected;
  }
  const failing = new CodeAgent({
    model: () => "<code>\nfinal_answer(7.2904);\n</code>",
    tools: [],
    executor,
    finalAnswerChecks: [check_uses_agent_state],
    maxSteps: 3,
  });
  const output = await failing.run("Dummy task.");
  assert.notEqual(output, undefined, "the run reached max steps and answered anyway");
  const failed = actions(failing.lastState!.steps).filter((step) => step.error !== null);
  assert.ok(failed.length > 0);
  assert.ok(failed.some((step) => /check_uses_agent_state failed/.test(step.error!.message)));
});

// smolagents: test_agents.py::TestAgent::test_generation_errors_are_raised
// Differs on purpose: the failed model call leaves no action step (a step that fails is not recorded, so the run
// can be retried from the state it had); smolagents keeps the failed step (2 memory steps).
Deno.test("test_generation_errors_are_raised", async () => {
  const model: ModelFunction = () => {
    throw new Error("Generation failed");
  };
  const agent = new CodeAgent({ model, tools: [], executor });
  await assert.rejects(() => agent.run("Dummy task."), (error: Error) => {
    assert.ok(error instanceof AgentGenerationError);
    assert.match(error.message, /Generation failed/);
    return true;
  });
  assert.equal(agent.lastState!.status, "failed");
  assert.equal(memorySteps(agent.lastState!.steps).length, 1);
});

// --- TestRunResult ---

function finalAnswerModel(giveTokenUsage: boolean): ModelFunction {
  const usage = giveTokenUsage ? { inputTokens: 10, outputTokens: 20 } : undefined;
  return (_messages, options) =>
    options.tools
      ? {
        content: "I will call the final_answer tool.",
        toolCalls: [{
          id: "fake_id",
          type: "function",
          function: { name: "final_answer", arguments: { answer: "This is the final answer." } },
        }],
        tokenUsage: usage,
      }
      : { content: "<code>\nfinal_answer('This is the final answer.');\n</code>", tokenUsage: usage };
}

// smolagents: test_agents.py::TestRunResult::test_no_token_usage (both agent classes)
Deno.test("test_no_token_usage", async () => {
  for (
    const agent of [
      new CodeAgent({ tools: [], model: finalAnswerModel(false), executor, maxSteps: 1, returnFullResult: true }),
      new ToolCallingAgent({ tools: [], model: finalAnswerModel(false), maxSteps: 1, returnFullResult: true }),
    ]
  ) {
    const result = await agent.run("Fake task") as RunResult;
    assert.equal(result.output, "This is the final answer.");
    assert.equal(result.state, "succeeded"); // smolagents: "success" (README: one status vocabulary)
    assert.equal(result.tokenUsage, null);
    assert.ok(Array.isArray(result.steps));
    assert.ok(result.timing.durationMs >= 0);
  }
});

// smolagents: test_agents.py::TestRunResult::test_full_result (every parametrised case: the agent's default, the
// run's choice over it)
Deno.test("test_full_result", async (t) => {
  const cases: Array<[boolean, boolean | undefined, boolean]> = [
    [true, undefined, true],
    [false, undefined, false],
    [true, false, false],
    [false, true, true],
  ];
  for (const [initReturnFullResult, runReturnFullResult, expectRunResult] of cases) {
    await t.step(`agent ${initReturnFullResult}, run ${runReturnFullResult}`, async () => {
      const agent = new ToolCallingAgent({
        tools: [],
        model: finalAnswerModel(true),
        maxSteps: 1,
        returnFullResult: initReturnFullResult,
      });
      const result = await agent.run(
        "Fake task",
        runReturnFullResult === undefined ? {} : { returnFullResult: runReturnFullResult },
      );
      if (expectRunResult) {
        const full = result as RunResult;
        assert.equal(full.output, "This is the final answer.");
        assert.equal(full.state, "succeeded");
        assert.deepEqual(full.tokenUsage, { inputTokens: 10, outputTokens: 20 });
        assert.ok(Array.isArray(full.steps));
        assert.ok(full.timing.durationMs >= 0);
      } else {
        assert.equal(result, "This is the final answer.");
      }
    });
  }
});

// --- TestMultiStepAgent ---

class CustomFinalAnswerTool extends FinalAnswerTool {
  override forward({ answer }: { answer: unknown }): string {
    return `${answer}CUSTOM`;
  }
}

// smolagents: test_agents.py::TestMultiStepAgent::test_instantiation_with_final_answer_tool (both cases)
Deno.test("test_instantiation_with_final_answer_tool", () => {
  const plain = new ToolCallingAgent({ tools: [], model: () => "" });
  assert.ok(plain.tools.get("final_answer") instanceof FinalAnswerTool);
  const custom = new ToolCallingAgent({ tools: [new CustomFinalAnswerTool()], model: () => "" });
  assert.ok(custom.tools.get("final_answer") instanceof CustomFinalAnswerTool);
});

// smolagents: test_agents.py::TestMultiStepAgent::test_logs_display_thoughts_even_if_error
Deno.test("test_logs_display_thoughts_even_if_error", async () => {
  const toolCalling = new ToolCallingAgent({ model: () => "I don't want to call tools today", tools: [], maxSteps: 1 });
  await toolCalling.run("Dummy task");
  const first = actions(toolCalling.lastState!.steps)[0];
  assert.equal(first.error?.type, "AgentParsingError");
  assert.match(first.modelOutput!, /don't want/);

  const code = new CodeAgent({
    model: () => "I don't want to write an action today",
    tools: [],
    executor,
    maxSteps: 1,
  });
  await code.run("Dummy task");
  const step = actions(code.lastState!.steps)[0];
  assert.equal(step.error?.type, "AgentParsingError");
  assert.match(step.modelOutput!, /don't want/);
});

// smolagents: test_agents.py::TestMultiStepAgent::test_step_number
Deno.test("test_step_number", async () => {
  const maxSteps = 2;
  const agent = new CodeAgent({ tools: [], model: () => "Model output.", executor, maxSteps });
  assert.equal(agent.start("Test task").stepNumber, 0, "step_number should be initialized to 0");
  await agent.run("Test task");
  const last = actions(agent.lastState!.steps).at(-1)!;
  assert.equal(last.stepNumber, maxSteps + 1, "the max-steps answer is step max_steps + 1");
  assert.equal(last.error?.type, "AgentMaxStepsError");
});

// smolagents: test_agents.py::TestMultiStepAgent::test_provide_final_answer
Deno.test("test_provide_final_answer", async () => {
  const { model, calls } = functionModel(["Final answer."]);
  const agent = new CodeAgent({ tools: [], model, executor, maxSteps: 0 });
  assert.equal(await agent.run("Test task"), "Final answer.");
  const messages = calls[0].messages;
  assert.equal(messages[0].role, "system", "FINAL_ANSWER_SYSTEM_PROMPT");
  assert.equal(messages.at(-1)!.role, "user", "FINAL_ANSWER_USER_PROMPT");
  assert.match(String(messages.at(-1)!.content), /Test task/);
  const state = agent.start("Test task");
  assert.deepEqual(messages, maxStepsAnswerMessages(state, agent.systemPrompt));
});

// smolagents: test_agents.py::TestMultiStepAgent::test_validate_tools_and_managed_agents (every case)
Deno.test("test_validate_tools_and_managed_agents", async (t) => {
  const mockTool = (name: string) =>
    tool({ name, description: "Mock tool description", inputs: z.object({}), run: () => "Mock tool output" });
  const mockAgent = (name: string, tools: Tool[]) =>
    new ToolCallingAgent({ name, description: "Mock agent description", tools, model: () => "" });
  const build = (tools: Tool[], managedAgents: MultiStepAgent[], name: string) => () =>
    new ToolCallingAgent({ tools, managedAgents, name, model: () => "" });
  await t.step("valid: no duplicates", () => {
    build([mockTool("tool1"), mockTool("tool2")], [mockAgent("agent1", [mockTool("tool3")])], "test_agent")();
  });
  await t.step("invalid: duplicate tool names", () => {
    assert.throws(build([mockTool("tool1"), mockTool("tool1")], [], "test_agent"));
  });
  await t.step("invalid: tool name same as managed agent name", () => {
    assert.throws(build([mockTool("tool1")], [mockAgent("tool1", [])], "test_agent"));
  });
  await t.step("valid: tool name same as a managed agent's tool name", () => {
    build([mockTool("tool1")], [mockAgent("agent1", [mockTool("tool1")])], "test_agent")();
  });
  await t.step("invalid: agent name same as a tool name", () => {
    assert.throws(build([mockTool("tool1")], [], "tool1"));
  });
  await t.step("valid: duplicate tool names across managed agents", () => {
    build([mockTool("tool1")], [
      mockAgent("agent1", [mockTool("tool2")]),
      mockAgent("agent2", [mockTool("tool2")]),
    ], "test_agent")();
  });
});

// smolagents: test_agents.py::TestMultiStepAgent::test_multiagent_to_dict_from_dict_roundtrip
Deno.test("test_multiagent_to_dict_from_dict_roundtrip", () => {
  const managed = new CodeAgent({
    tools: [],
    model: () => "",
    executor,
    name: "managed_agent",
    description: "A managed agent for testing",
    maxSteps: 5,
  });
  const main = new ToolCallingAgent({
    tools: [],
    managedAgents: [managed],
    model: () => "",
    name: "main_agent",
    description: "Main agent with managed agents",
    maxSteps: 10,
  });
  const definition = main.toJSON();
  assert.equal(definition.managedAgents.length, 1);
  const managedDefinition = definition.managedAgents[0];
  assert.equal(managedDefinition.name, "managed_agent");
  assert.equal(managedDefinition.agent.kind, "CodeAgent");
  assert.equal(managedDefinition.description, "A managed agent for testing");
  assert.equal(managedDefinition.agent.maxSteps, 5);

  const recreated = MultiStepAgent.fromJSON(JSON.parse(JSON.stringify(definition)), {
    kinds: { ToolCallingAgent, CodeAgent },
    tools: [],
    model: () => "",
    executor,
  });
  assert.equal(recreated.name, "main_agent");
  assert.equal(recreated.description, "Main agent with managed agents");
  assert.equal(recreated.maxSteps, 10);
  assert.equal(recreated.managedAgents.size, 1);
  const recreatedManaged = [...recreated.managedAgents.values()][0];
  assert.equal(recreatedManaged.name, "managed_agent");
  assert.equal(recreatedManaged.description, "A managed agent for testing");
  assert.equal(recreatedManaged.agent.maxSteps, 5);
  assert.ok(recreatedManaged.agent instanceof CodeAgent);
});

// smolagents: test_agents.py::TestMultiStepAgent::test_from_dict_invalid_agent_class
Deno.test("test_from_dict_invalid_agent_class", () => {
  const definition = new CodeAgent({ tools: [], model: () => "", executor, name: "test_agent" }).toJSON();
  assert.throws(
    () =>
      MultiStepAgent.fromJSON({ ...definition, kind: "InvalidAgentClass" }, {
        kinds: { ToolCallingAgent, CodeAgent },
        tools: [],
        model: () => "",
      }),
    /Unknown agent kind 'InvalidAgentClass'/,
  );
});

// --- TestToolCallingAgent ---

// smolagents: test_agents.py::TestToolCallingAgent::test_toolcalling_agent_instructions
Deno.test("test_toolcalling_agent_instructions", () => {
  const agent = new ToolCallingAgent({ tools: [], model: () => "", instructions: "Test instructions" });
  assert.equal(agent.instructions, "Test instructions");
  assert.match(agent.systemPrompt, /Test instructions/);
});

// smolagents: test_agents.py::TestToolCallingAgent::test_toolcalling_agent_passes_both_tools_and_managed_agents
Deno.test("test_toolcalling_agent_passes_both_tools_and_managed_agents", async () => {
  const managed = new ToolCallingAgent({ name: "managed_agent", description: "helps", model: () => "" });
  const { model, calls } = functionModel([{ calls: [["test_tool", { input: "test_value" }]] }]);
  const agent = new ToolCallingAgent({ tools: [new TestTool()], managedAgents: [managed], model });
  await agent.step(agent.start("Test task"));
  const names = calls[0].options.tools!.map((definition) => definition.name);
  assert.ok(names.includes("test_tool"));
  assert.ok(names.includes("managed_agent"));
  assert.ok(names.includes("final_answer"));
});

// smolagents: test_agents.py::TestToolCallingAgent::test_toolcalling_agent_api (the JSON-in-text reply, then native)
Deno.test("test_toolcalling_agent_api", async () => {
  const weather_api = tool({
    name: "weather_api",
    description: "Gets the weather in the next days at given location.",
    inputs: z.object({ location: z.string().describe("the location"), date: z.string().describe("the date") }),
    run: ({ location, date }) => `The weather in ${location} on date:${date} is sunny.`,
  });
  for (
    const reply of [
      '{"name": "weather_api", "arguments": {"location": "Paris", "date": "today"}}',
      { calls: [["weather_api", '{"location": "Paris", "date": "today"}']] },
    ] satisfies FunctionReply[]
  ) {
    const { model } = functionModel([reply]);
    const agent = new ToolCallingAgent({ model, tools: [weather_api], maxSteps: 1 });
    await agent.step(agent.start("What's the weather in Paris?")).then(({ state }) => (agent.lastState = state));
    const steps = agent.lastState!.steps;
    assert.equal(steps[0].type === "task" && steps[0].task, "What's the weather in Paris?");
    const step = steps[1] as ActionStep;
    assert.equal(step.toolCalls[0].name, "weather_api");
    assert.deepEqual(step.toolCalls[0].arguments, { location: "Paris", date: "today" });
    assert.equal(step.observations, "The weather in Paris on date:today is sunny.");
  }
});

// smolagents: test_agents.py::TestToolCallingAgent::test_toolcalling_agent_stream_logs_multiple_tool_calls_observations
Deno.test("test_toolcalling_agent_stream_logs_multiple_tool_calls_observations", async () => {
  const step = await stepWithCalls([["test_tool", { input: "output1" }], ["test_tool", { input: "output2" }]]);
  assert.deepEqual(step.toolCalls.map((call) => call.name), ["test_tool", "test_tool"]);
  assert.equal(step.observations, "Processed: output1\nProcessed: output2");
});

// smolagents: test_agents.py::TestToolCallingAgent::test_toolcalling_agent_final_answer_cannot_be_called_with_parallel_tool_calls
Deno.test("test_toolcalling_agent_final_answer_cannot_be_called_with_parallel_tool_calls", async () => {
  const step = await stepWithCalls([["test_tool", { input: "out1" }], ["final_answer", { answer: "out1" }]]);
  assert.notEqual(step.error, null);
  assert.match(step.error!.message, /do not perform any other tool calls than the final answer tool call!/);
});

// smolagents: test_agents.py::TestToolCallingAgent::test_toolcalling_agent_api_misformatted_output
Deno.test("test_toolcalling_agent_api_misformatted_output", async () => {
  const bad = '{"name": weather_api", "arguments": {"location": "Paris", "date": "today"}}';
  const { model } = functionModel([bad, bad, "best answer"]);
  const agent = new ToolCallingAgent({ model, tools: [], maxSteps: 2 });
  await agent.run("What's the weather in Paris?");
  const steps = memorySteps(agent.lastState!.steps);
  assert.equal(steps[0].type === "task" && steps[0].task, "What's the weather in Paris?");
  assert.deepEqual((steps[1] as ActionStep).toolCalls, []);
  assert.match((steps[1] as ActionStep).error!.message, /The JSON blob you used is invalid/);
  assert.equal(steps.length, 4, "task, two failed steps, the max-steps answer");
});

// smolagents: test_agents.py::TestToolCallingAgent::test_custom_final_answer_with_custom_inputs
Deno.test("test_custom_final_answer_with_custom_inputs (ToolCallingAgent)", async () => {
  const { model } = functionModel([{ calls: [["final_answer", { answer1: "1", answer2: "2" }]] }]);
  const agent = new ToolCallingAgent({
    tools: [new TestTool(), customFinalAnswerToolWithCustomInputs(" and ")],
    model,
  });
  assert.equal(await agent.run("Fake task."), "1 and 2");
  assert.equal(actions(agent.lastState!.steps).at(-1)!.toolCalls[0].name, "final_answer");
});

// smolagents: test_agents.py::TestToolCallingAgent::test_process_tool_calls (every case but the empty list, which
// our agent reads as "no tool call" and parses the text instead)
Deno.test("test_process_tool_calls", async (t) => {
  const cases: Array<{
    name: string;
    calls: Array<[string, unknown]>;
    observations?: string;
    outputs?: unknown;
    error?: string;
  }> = [
    {
      name: "single valid tool call",
      calls: [["test_tool", { input: "test_value" }]],
      observations: "Processed: test_value",
      outputs: "Processed: test_value",
    },
    {
      name: "multiple tool calls",
      calls: [["test_tool", { input: "value1" }], ["test_tool", { input: "value2" }]],
      observations: "Processed: value1\nProcessed: value2",
      outputs: ["Processed: value1", "Processed: value2"],
    },
    { name: "invalid tool name", calls: [["nonexistent_tool", { input: "test" }]], error: "AgentToolExecutionError" },
    { name: "tool execution error", calls: [["test_tool", { input: "error" }]], error: "AgentToolExecutionError" },
    {
      name: "final answer call",
      calls: [["final_answer", { answer: "This is the final answer" }]],
      observations: "This is the final answer",
      outputs: "This is the final answer",
    },
    { name: "invalid arguments", calls: [["test_tool", { wrong_param: "value" }]], error: "AgentToolCallError" },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const { model } = functionModel([{ content: "", calls: testCase.calls }]);
      const agent = new ToolCallingAgent({ tools: [new TestTool()], model });
      const { step } = await agent.step(agent.start("task"));
      const action = step as ActionStep;
      if (testCase.error) {
        assert.equal(action.error?.type, testCase.error);
        return;
      }
      assert.equal(action.error, null);
      assert.equal(action.modelOutput, null);
      assert.equal(action.observations, testCase.observations);
      assert.deepEqual(action.actionOutput, testCase.outputs);
      assert.deepEqual(
        action.toolCalls.map(({ name, arguments: args }) => [name, args]),
        testCase.calls,
      );
    });
  }
});

// --- TestCodeAgent ---

// smolagents: test_agents.py::TestCodeAgent::test_code_agent_instructions
Deno.test("test_code_agent_instructions", () => {
  const agent = new CodeAgent({ tools: [], model: () => "", executor, instructions: "Test instructions" });
  assert.equal(agent.instructions, "Test instructions");
  assert.match(agent.systemPrompt, /Test instructions/);
});

/** smolagents' FakeCodeModelError: prints, then raises in a function; then answers. */
function errorModel() {
  return functionModel([
    'Thought: I should multiply 2 by 3.6452. special_marker\n<code>\nprint("Flag!");\nfunction error_function() {\n  throw new Error("error");\n}\n\nerror_function();\n</code>',
    'Thought: I faced an error in the previous step.\n<code>\nfinal_answer("got an error");\n</code>',
  ]).model;
}

// smolagents: test_agents.py::TestCodeAgent::test_errors_show_offending_line_and_error
Deno.test("test_errors_show_offending_line_and_error", async () => {
  const agent = new CodeAgent({ tools: [], model: errorModel(), executor });
  assert.equal(await agent.run("What is 2 multiplied by 3.6452?"), "got an error");
  const error = (agent.lastState!.steps[1] as ActionStep).error!;
  assert.match(error.message, /Code execution failed at line 3 \(throw new Error\("error"\);\)/);
  assert.match(error.message, /Error: error/);
});

// smolagents: test_agents.py::TestCodeAgent::test_error_saves_previous_print_outputs
Deno.test("test_error_saves_previous_print_outputs", async () => {
  const agent = new CodeAgent({ tools: [], model: errorModel(), executor });
  await agent.run("What is 2 multiplied by 3.6452?");
  assert.match((agent.lastState!.steps[1] as ActionStep).observations!, /Flag!/);
});

// smolagents: test_agents.py::TestCodeAgent::test_syntax_error_show_offending_lines
Deno.test("test_syntax_error_show_offending_lines", async () => {
  const code =
    'const a = 2;\nconst b = a * 2;\n    print("Failing due to" unexpected);\nprint("Ok, calculation done!");';
  const { model } = functionModel([
    `Thought: I should multiply 2 by 3.6452. special_marker\n<code>\n${code}\n</code>`,
    'Thought: I can now answer the initial question\n<code>\nfinal_answer("got an error");\n</code>',
  ]);
  const agent = new CodeAgent({ tools: [], model, executor });
  assert.equal(await agent.run("What is 2 multiplied by 3.6452?"), "got an error");
  const failed = agent.lastState!.steps[1] as ActionStep;
  assert.match(failed.error!.message, /SyntaxError/);
  assert.match(failed.error!.message, /print\("Failing due to" unexpected\)/, "the offending line is shown");
  assert.equal(failed.code, code);
});

// smolagents: test_agents.py::TestCodeAgent::test_end_code_appending
Deno.test("test_end_code_appending", async () => {
  const original = noReturnModel([], {}) as string;
  assert.ok(!original.endsWith("</code>"));
  const agent = new CodeAgent({ tools: [], model: noReturnModel, executor, maxSteps: 1 });
  assert.ok(await agent.run("What is 2 multiplied by 3.6452?"));
  const outputs = actions(agent.lastState!.steps).filter((s) => s.code).map((s) => s.modelOutput!);
  assert.ok(outputs.length > 0);
  assert.ok(outputs.every((output) => output.endsWith("</code>")));
});

// smolagents: test_agents.py::TestCodeAgent::test_custom_final_answer_with_custom_inputs
Deno.test("test_custom_final_answer_with_custom_inputs (CodeAgent)", async () => {
  const model: ModelFunction = () => "<code>\nfinal_answer({ answer1: '1', answer2: '2' });\n</code>";
  const agent = new CodeAgent({ tools: [customFinalAnswerToolWithCustomInputs("CUSTOM")], model, executor });
  assert.equal(await agent.run("Fake task."), "1CUSTOM2");
  assert.match(agent.systemPrompt, /declare function final_answer\(args: \{ answer1: string; answer2: string \}\)/);
});

// From smolagents: test_agents.py::TestAgent::test_change_tools_after_init (skipped upstream; its CustomFinalAnswerTool
// in code is what we check: forward's result is the answer, and a failing forward is an execution error)
Deno.test("CustomFinalAnswerTool: forward runs on the answer given in code", async (t) => {
  await t.step("a bare value goes to the only input", async () => {
    const agent = new CodeAgent({
      tools: [new CustomFinalAnswerTool()],
      model: () => '<code>\nfinal_answer("2");\n</code>',
      executor,
    });
    assert.equal(await agent.run("Fake task."), "2CUSTOM");
  });
  await t.step("named arguments too", async () => {
    const agent = new CodeAgent({
      tools: [new CustomFinalAnswerTool()],
      model: () => '<code>\nfinal_answer({ answer: "3" });\n</code>',
      executor,
    });
    assert.equal(await agent.run("Fake task."), "3CUSTOM");
  });
  await t.step("the built-in one reads named arguments as smolagents does, anything else as the answer", async () => {
    for (
      const [code, expected] of [
        ["final_answer({ answer: 42 })", 42],
        ["final_answer({ x: 1 })", { x: 1 }],
        ["final_answer([1, 2])", [1, 2]],
      ] as const
    ) {
      const agent = new CodeAgent({ tools: [], model: () => `<code>\n${code};\n</code>`, executor });
      assert.deepEqual(await agent.run("Fake task."), expected);
    }
  });
  await t.step("a forward that throws is an execution error fed back", async () => {
    class Strict extends FinalAnswerTool {
      override forward(): never {
        throw new Error("not good enough");
      }
    }
    const { model } = functionModel(['<code>\nfinal_answer("x");\n</code>', "best answer"]);
    const agent = new CodeAgent({ tools: [new Strict()], model, executor, maxSteps: 1 });
    await agent.run("Fake task.");
    const first = actions(agent.lastState!.steps)[0];
    assert.equal(first.error?.type, "AgentExecutionError");
    assert.match(first.error!.message, /final_answer: .*not good enough/);
  });
});

// From smolagents: utils.py parse_code_blobs, through CodeAgent: code written without tags or fences runs when it
// compiles; prose that does not is the parsing error with the expected format.
Deno.test("parse_code_blobs fallback: untagged code runs, untagged prose is a parsing error", async (t) => {
  await t.step("code without tags", async () => {
    const agent = new CodeAgent({
      tools: [],
      model: () => "const x = 6 * 7;\nfinal_answer(`answer: ${x}`);",
      executor,
    });
    assert.equal(await agent.run("Fake task."), "answer: 42");
    assert.equal(actions(agent.lastState!.steps)[0].code, "const x = 6 * 7;\nfinal_answer(`answer: ${x}`);");
  });
  await t.step("prose without tags", async () => {
    const { model } = functionModel(["The final answer is 42, I think.", "best answer"]);
    const agent = new CodeAgent({ tools: [], model, executor, maxSteps: 1 });
    await agent.run("Fake task.");
    const first = actions(agent.lastState!.steps)[0];
    assert.equal(first.error?.type, "AgentParsingError");
    assert.match(first.error!.message, /no code block/);
    assert.match(first.error!.message, /final_answer\("YOUR FINAL ANSWER"\)/);
  });
});

// smolagents: test_agents.py::test_tool_calling_agents_raises_agent_execution_error_when_tool_raises
Deno.test("test_tool_calling_agents_raises_agent_execution_error_when_tool_raises", async () => {
  const sample = tool({
    name: "_sample_tool",
    description: "Tool that fails",
    inputs: z.object({ _: z.string() }),
    output: "number",
    run: () => {
      throw new RangeError("division by zero");
    },
  });
  const { model } = functionModel([{ calls: [["_sample_tool", "sample"]] }]);
  const agent = new ToolCallingAgent({ model, tools: [sample] });
  const { step } = await agent.step(agent.start("task"));
  assert.equal((step as ActionStep).error?.type, "AgentToolExecutionError");
  assert.match((step as ActionStep).error!.message, /division by zero/);
});

// CodeAgent: a one-input tool takes its value alone in code (smolagents' Python call), two-input tools do not.
// From smolagents: test_agents.py::TestMultiAgents::test_multiagents (the CodeAgent manager calls search_agent("...")), applied
// to tools in the sandbox.
Deno.test("CodeAgent: a single-input tool takes a bare argument in code", async () => {
  const pair = tool({
    name: "pair",
    description: "two inputs",
    inputs: z.object({ a: z.string(), b: z.string() }),
    run: ({ a, b }) => a + b,
  });
  const { model } = functionModel([
    '<code>\nconst r = await test_tool("x");\nprint(r);\nawait pair("y");\n</code>',
    '<code>\nfinal_answer(await test_tool("z"));\n</code>',
  ]);
  const agent = new CodeAgent({ tools: [new TestTool(), pair], model, executor });
  assert.equal(await agent.run("go"), "Processed: z");
  const first = actions(agent.lastState!.steps)[0];
  assert.match(first.observations!, /Processed: x/);
  assert.equal(first.error?.type, "AgentExecutionError");
  assert.match(first.error!.message, /ToolError: pair failed: .*arguments must be an object of named arguments/);
});

// smolagents: test_agents.py::TestMultiAgents::test_multiagents (both managers: a CodeAgent calling its managed agent
// in code with the task as a plain string, and a ToolCallingAgent calling it with a bare string argument)
Deno.test("test_multiagents", async (t) => {
  const managerModel: ModelFunction = (messages, options) => {
    const started = messages.length >= 3 && JSON.stringify(messages).includes("Report on the current US president");
    if (options.tools) {
      const call = started
        ? { name: "final_answer", arguments: "Final report." }
        : { name: "search_agent", arguments: "Who is the current US president?" };
      return { content: "", toolCalls: [{ id: "call_0", type: "function", function: call }] };
    }
    return started
      ? 'Thought: Let\'s return the report.\n<code>\nfinal_answer("Final report.");\n</code>'
      : 'Thought: Let\'s call our search agent.\n<code>\nconst result = await search_agent("Who is the current US president?");\n</code>';
  };
  const managedModel: ModelFunction = () => ({
    content: "Here is the secret content: FLAG1",
    toolCalls: [{
      id: "call_0",
      type: "function",
      function: { name: "final_answer", arguments: "Report on the current US president" },
    }],
  });
  const webAgent = () =>
    new ToolCallingAgent({
      tools: [],
      model: managedModel,
      maxSteps: 10,
      name: "search_agent",
      description: "Runs web searches for you. Give it your request as an argument.",
    });
  await t.step("CodeAgent manager", async () => {
    const manager = new CodeAgent({ tools: [], model: managerModel, executor, managedAgents: [webAgent()] });
    assert.equal(await manager.run("Fake question."), "Final report.");
  });
  await t.step("ToolCallingAgent manager", async () => {
    const manager = new ToolCallingAgent({ tools: [], model: managerModel, managedAgents: [webAgent()] });
    assert.equal(await manager.run("Fake question."), "Final report.");
    const sub = manager.lastState!.steps.find((step) => step.type === "action") as ActionStep;
    assert.match(sub.observations!, /Report on the current US president/);
  });
});

// smolagents: test_agents.py::TestMultiStepAgent::test_interrupt (a step callback interrupts; run() raises
// AgentError "Agent interrupted"). Our callbacks get a context with interrupt() rather than the agent.
Deno.test("test_interrupt", async () => {
  const agent = new CodeAgent({
    tools: [],
    model: () => "Model output.",
    executor,
    stepCallbacks: [(_step, context) => context.interrupt()],
  });
  await assert.rejects(() => agent.run("Test task"), (error: Error) => {
    assert.ok(error instanceof AgentError);
    assert.match(error.message, /Agent interrupted/);
    return true;
  });
  assert.equal(actions(agent.lastState!.steps).length, 1, "the run stopped after the first step");
});
