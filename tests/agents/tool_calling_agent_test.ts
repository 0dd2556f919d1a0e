import assert from "node:assert/strict";
import { z } from "zod";
import {
  type ActionStep,
  AgentError,
  type AgentEvent,
  AgentGenerationError,
  calculatorTool,
  ConfigurationError,
  type MultiStepAgent,
  ReactJsonAgent,
  StepRefusedError,
  tool,
  ToolCallingAgent,
} from "../../lib/mod.ts";
import { RETRY_HINT } from "../../lib/memory/memory_to_messages.ts";
import { TOOL_CALLING_STOP_SEQUENCES } from "../../lib/agents/tool_calling_agent.ts";
import { functionModel } from "../support/function_model.ts";

const actions = (steps: unknown[]) => steps.filter((s) => (s as ActionStep).type === "action") as ActionStep[];

function slowTool(name: string, ms: number, log: string[]) {
  return tool({
    name,
    description: `waits ${ms} ms`,
    inputs: z.object({ label: z.string() }),
    run: async ({ label }) => {
      log.push(`start ${label}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${label}`);
      return `done ${label}`;
    },
  });
}

Deno.test("ToolCallingAgent: a full run with native tool calls", async () => {
  const { model, calls } = functionModel([
    { calls: [["calculator", { expression: "6 * 7" }]], usage: [100, 10] },
    { content: "The answer is known.", calls: [["final_answer", { answer: "42" }]], usage: [150, 12] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [calculatorTool], name: "calc" });
  const result = await agent.run("What is 6 times 7?", { returnFullResult: true });
  assert.equal(result.output, "42");
  assert.equal(result.state, "succeeded");
  assert.deepEqual(result.tokenUsage, { inputTokens: 250, outputTokens: 22 });
  const [first, second] = actions(result.steps);
  assert.equal(first.observations, "42");
  assert.equal(first.actionOutput, 42);
  assert.equal(second.isFinalAnswer, true);
  assert.equal(second.modelOutput, "The answer is known.");
  // What the model saw on the second call: the system prompt, the task, the call and the observation.
  const seen = calls[1].messages;
  assert.equal(seen[0].role, "system");
  assert.match(String(seen[0].content), /calculator: Evaluates an arithmetic expression/);
  assert.equal(seen[1].content, "New task:\nWhat is 6 times 7?");
  assert.equal(seen.at(-1)?.content, "Observation:\n42");
  assert.deepEqual(calls[0].options.stopSequences, TOOL_CALLING_STOP_SEQUENCES);
  assert.deepEqual(calls[0].options.tools?.map((t) => t.name).sort(), ["calculator", "final_answer"]);
});

Deno.test("ToolCallingAgent: JSON-blob fallback for text-only models", async () => {
  const { model } = functionModel([
    'Thought: compute.\nAction:\n{"name": "calculator", "arguments": {"expression": "2^5"}}',
    'Action: {"action": "final_answer", "action_input": {"answer": "32"}}',
  ]);
  const agent = new ReactJsonAgent({ llmEngine: model, tools: [calculatorTool], maxIterations: 4 });
  assert.equal(agent.maxSteps, 4);
  assert.equal(await agent.run("2 to the 5th?"), "32");
});

Deno.test("ToolCallingAgent: errors are recorded and fed back, and the loop goes on", async (t) => {
  const { model, calls } = functionModel([
    "I think it is 4.", // no tool call
    { calls: [["nope", {}]] }, // unknown tool
    { calls: [["calculator", { expression: 5 }]] }, // wrong argument type
    { calls: [["calculator", { expression: "1 +" }]] }, // the tool throws
    { calls: [["calculator", { expression: "1" }], ["final_answer", { answer: 1 }]] }, // final_answer with others
    { calls: [["final_answer", { answer: 4 }]] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [calculatorTool] });
  const result = await agent.run("2+2", { returnFullResult: true });
  const steps = actions(result.steps);
  const errors = steps.map((s) => s.error);

  await t.step("each error has its type and a precise message", () => {
    assert.equal(errors[0]?.type, "AgentParsingError");
    // An unknown tool is an execution error, as smolagents' execute_tool_call raises it.
    assert.equal(errors[1]?.type, "AgentToolExecutionError");
    assert.equal(errors[1]!.message, "Unknown tool nope, should be one of: calculator, final_answer.");
    assert.match(errors[2]!.message, /argument 'expression' has type integer, expected string/);
    assert.equal(errors[3]?.type, "AgentToolExecutionError");
    assert.match(errors[3]!.message, /Error when executing tool 'calculator'.*Cannot evaluate/);
    assert.equal(errors[4]?.type, "AgentExecutionError"); // smolagents' class and wording
    assert.match(
      errors[4]!.message,
      /do not perform any other tool calls than the final answer tool call!.*calculator/,
    );
    assert.equal(errors[5], null);
    assert.equal(result.output, 4);
  });

  await t.step("the next model call sees the error and the retry hint", () => {
    const last = calls[1].messages.at(-1)!;
    assert.equal(last.role, "tool-response");
    assert.match(String(last.content), /^Error:\nNo tool call found/);
    assert.ok(String(last.content).endsWith(RETRY_HINT));
  });
});

Deno.test("ToolCallingAgent: several calls in one reply run concurrently, observations in call order", async () => {
  const log: string[] = [];
  const { model } = functionModel([
    { calls: [["slow", { label: "a" }], ["fast", { label: "b" }]] },
    { calls: [["final_answer", { answer: "ok" }]] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [slowTool("slow", 60, log), slowTool("fast", 1, log)] });
  const result = await agent.run("go", { returnFullResult: true });
  assert.deepEqual(log.slice(0, 2), ["start a", "start b"], "both started before either finished");
  assert.deepEqual(log.slice(2), ["end b", "end a"]);
  const step = actions(result.steps)[0];
  // As smolagents joins them: one result per line, in call order (not in the order they finished).
  assert.equal(step.observations, "done a\ndone b");
  assert.deepEqual(step.actionOutput, ["done a", "done b"]);
});

Deno.test("ToolCallingAgent: max steps, then one more call for the best answer", async () => {
  const { model, calls } = functionModel([
    { calls: [["calculator", { expression: "1" }]], usage: [10, 1] },
    { calls: [["calculator", { expression: "2" }]], usage: [10, 1] },
    { content: "Best guess: 2", usage: [30, 3] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [calculatorTool], maxSteps: 2 });
  const result = await agent.run("count", { returnFullResult: true });
  assert.equal(result.state, "max_steps_error");
  assert.equal(result.output, "Best guess: 2");
  assert.deepEqual(result.tokenUsage, { inputTokens: 50, outputTokens: 5 }, "the extra call is counted");
  const last = actions(result.steps).at(-1)!;
  assert.equal(last.error?.type, "AgentMaxStepsError");
  assert.equal(last.isFinalAnswer, true);
  assert.equal(calls[2].options.stopSequences, undefined, "no stop sequences for the final call");
  assert.equal(calls[2].options.tools, undefined);
  assert.match(String(calls[2].messages.at(-1)?.content), /answer this task now:\ncount/);
  assert.equal(result.error?.type, "AgentMaxStepsError");
});

Deno.test("ToolCallingAgent: step() is atomic and leaves its input untouched", async (t) => {
  const { model } = functionModel([
    new Error("connection reset"),
    { calls: [["final_answer", { answer: "done" }]] },
  ]);
  const agent = new ToolCallingAgent({ model, name: "atom" });
  const state = agent.start("task");
  const snapshot = structuredClone(state);

  await t.step("a model failure throws AgentGenerationError and changes nothing", async () => {
    await assert.rejects(() => agent.step(state), (error: Error) => {
      assert.ok(error instanceof AgentGenerationError);
      assert.match(error.message, /connection reset/);
      return true;
    });
    assert.deepEqual(state, snapshot);
  });

  await t.step(
    "the same state can then be stepped again; its action record (and the closing answer) is appended",
    async () => {
      const { state: next, events, step } = await agent.step(state);
      assert.deepEqual(state, snapshot, "input not mutated");
      assert.deepEqual(next.steps.slice(state.steps.length).map((s) => s.type), ["action", "final_answer"]);
      assert.equal(next.steps[state.steps.length], step);
      assert.deepEqual(next.steps.at(-1), { type: "final_answer", output: "done" });
      assert.equal(next.status, "succeeded");
      assert.equal(next.finalAnswer, "done");
      assert.deepEqual(events.map((e) => e.type), ["step", "final_answer"]);
      // The codes a KV run answers for the same cases: an ended run takes no step, and no input.
      const refused = (code: string, why: RegExp) => (e: Error) =>
        e instanceof StepRefusedError && e.code === code && why.test(e.message);
      await assert.rejects(() => agent.step(next), refused("run_finished", /ended with status 'succeeded'/));
      await assert.rejects(() => agent.resume(next, { approve: true }), refused("not_awaiting_input", /'succeeded'/));
      await assert.rejects(() => agent.resume(state, { approve: true }), refused("not_awaiting_input", /'running'/));
    },
  );

  await t.step("a state of another agent is refused", async () => {
    const other = new ToolCallingAgent({ model, name: "other" });
    await assert.rejects(
      () => other.step(state),
      (e: Error) =>
        e instanceof StepRefusedError && e.code === "step_refused" && /belongs to agent 'atom'/.test(e.message),
    );
  });
});

Deno.test("ToolCallingAgent: run() ends with status failed on a model failure", async () => {
  const { model } = functionModel([new Error("500 from upstream")]);
  const agent = new ToolCallingAgent({ model });
  const result = await agent.run("x", { returnFullResult: true });
  assert.equal(result.state, "failed");
  assert.equal(result.error?.type, "AgentGenerationError");
  await assert.rejects(
    () => new ToolCallingAgent({ model: functionModel([new Error("boom")]).model }).run("x"),
    AgentGenerationError,
  );
});

Deno.test("ToolCallingAgent: configuration errors are not turned into generation errors", async () => {
  const agent = new ToolCallingAgent({ model: () => Promise.reject(new ConfigurationError("no key")) });
  await assert.rejects(() => agent.step(agent.start("x")), ConfigurationError);
});

Deno.test("ToolCallingAgent: additionalArgs are announced and substituted by name", async () => {
  const seen: unknown[] = [];
  const echo = tool({
    name: "echo",
    description: "echoes",
    inputs: z.object({ value: z.unknown() }),
    run: ({ value }) => {
      seen.push(value);
      return value;
    },
  });
  const { model, calls } = functionModel([
    { calls: [["echo", { value: "document" }]] },
    { calls: [["final_answer", { answer: "document" }]] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [echo] });
  const answer = await agent.run("summarise", { additionalArgs: { document: { title: "T", pages: 3 } } });
  assert.deepEqual(seen, [{ title: "T", pages: 3 }]);
  assert.deepEqual(answer, { title: "T", pages: 3 });
  assert.match(String(calls[0].messages[1].content), /additional arguments[^]*"document"[^]*"pages": 3/);
});

Deno.test("ToolCallingAgent: stepCallbacks and finalAnswerChecks", async (t) => {
  // smolagents registers a plain list of step_callbacks for ActionStep only, and a dict per step type, FinalAnswerStep
  // included (called once, with the final answer).
  await t.step("a list sees action steps only; per type, final_answer gets the answer once", async () => {
    const list: string[] = [];
    const perType: string[] = [];
    const { model } = functionModel([
      "Plan: calculate, then answer.",
      { calls: [["calculator", { expression: "1" }]] },
      "Plan: answer.",
      { calls: [["final_answer", { answer: "done" }]] },
    ]);
    const listed = new ToolCallingAgent({
      model,
      tools: [calculatorTool],
      planningInterval: 1,
      stepCallbacks: [(step) => void list.push(step.type)],
    });
    const planModel = functionModel([
      "Plan: calculate, then answer.",
      { calls: [["calculator", { expression: "1" }]] },
      "Plan: answer.",
      { calls: [["final_answer", { answer: "done" }]] },
    ]);
    const typed = new ToolCallingAgent({
      model: planModel.model,
      tools: [calculatorTool],
      planningInterval: 1,
      stepCallbacks: {
        action: [(step) => void perType.push(step.type)],
        planning: [(step) => void perType.push(step.type)],
        final_answer: [(step) => void perType.push(`final_answer:${(step as { output: unknown }).output}`)],
      },
    });
    assert.equal(await typed.run("x"), "done");
    assert.deepEqual(perType, ["planning", "action", "planning", "action", "final_answer:done"]);
    assert.equal(await listed.run("x"), "done");
    assert.deepEqual(list, ["action", "action"]);
  });

  await t.step("per-type callbacks only theirs; interrupt ends the run", async () => {
    const seen: string[] = [];
    const { model } = functionModel([
      { calls: [["calculator", { expression: "1" }]] },
      { calls: [["calculator", { expression: "2" }]] },
      { calls: [["final_answer", { answer: "never" }]] },
    ]);
    const agent = new ToolCallingAgent({
      model,
      tools: [calculatorTool],
      stepCallbacks: {
        action: [(step, context) => {
          seen.push(`${step.type}:${(step as ActionStep).stepNumber}`);
          if ((step as ActionStep).stepNumber === 2) context.interrupt("enough");
        }],
        planning: [() => {
          seen.push("planning");
        }],
      },
    });
    const result = await agent.run("x", { returnFullResult: true });
    assert.deepEqual(seen, ["action:1", "action:2"]);
    assert.equal(result.state, "failed");
    assert.deepEqual(result.error, { type: "AgentInterruptedError", message: "enough" });
    await assert.rejects(
      () =>
        new ToolCallingAgent({
          model: functionModel([{ calls: [["calculator", { expression: "1" }]] }]).model,
          tools: [calculatorTool],
          stepCallbacks: [(_s, c) => c.interrupt()],
        }).run("x"),
      AgentError,
    );
  });

  await t.step("a failing check records an error and the run continues", async () => {
    const { model, calls } = functionModel([
      { calls: [["final_answer", { answer: "3" }]] },
      { calls: [["final_answer", { answer: "4" }]] },
    ]);
    const isFour = (answer: unknown) => answer === "4";
    const agent = new ToolCallingAgent({ model, finalAnswerChecks: [isFour] });
    const result = await agent.run("2+2", { returnFullResult: true });
    assert.equal(result.output, "4");
    const first = actions(result.steps)[0];
    assert.equal(first.isFinalAnswer, false);
    assert.match(first.error!.message, /Check isFour failed with error: it returned false for answer "3"/);
    assert.match(String(calls[1].messages.at(-1)?.content), /Check isFour failed with error/);
  });

  // smolagents' tests/test_agents.py `test_final_answer_checks`: checks are called `(final_answer, memory, agent)`, and
  // what a failing one raises reaches the model.
  await t.step("checks are called (answer, memory, agent), as in smolagents", async () => {
    const seen: Array<[unknown, string, string]> = [];
    const { model, calls } = functionModel([
      { calls: [["final_answer", { answer: "first" }]] },
      { calls: [["final_answer", { answer: "second" }]] },
    ]);
    const checkAlwaysFailsOnce = (answer: unknown, memory: { task: string }, agent: MultiStepAgent) => {
      seen.push([answer, memory.task, agent.name]);
      if (seen.length === 1) throw new Error("Error raised in check");
      return true;
    };
    const agent = new ToolCallingAgent({ model, name: "checked", finalAnswerChecks: [checkAlwaysFailsOnce] });
    const result = await agent.run("Dummy task.", { returnFullResult: true });
    assert.equal(result.output, "second");
    assert.deepEqual(seen, [["first", "Dummy task.", "checked"], ["second", "Dummy task.", "checked"]]);
    assert.match(String(calls[1].messages.at(-1)?.content), /Error raised in check/);
  });
});

Deno.test("ToolCallingAgent: streaming yields step events; reset:false continues the memory", async () => {
  const { model, calls } = functionModel([
    { calls: [["calculator", { expression: "2+2" }]] },
    { calls: [["final_answer", { answer: 4 }]] },
    { calls: [["final_answer", { answer: 8 }]] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [calculatorTool] });
  const events: AgentEvent[] = [];
  for await (const event of agent.run("2+2", { stream: true })) events.push(event);
  assert.deepEqual(events.map((e) => e.type), ["step", "step", "final_answer"]);
  assert.deepEqual(events.at(-1), { type: "final_answer", agent: "agent", status: "succeeded", output: 4 });

  const answer = await agent.run("now double it", { reset: false });
  assert.equal(answer, 8);
  const seen = calls[2].messages.map((m) => String(m.content));
  assert.ok(seen.includes("New task:\n2+2"), "the first task is still in memory");
  assert.equal(seen.at(-1), "New task:\nnow double it");
  assert.equal(agent.lastState?.steps.filter((s) => s.type === "task").length, 2);
});

Deno.test("Agent names must be unique among its tools", () => {
  assert.throws(
    () => new ToolCallingAgent({ model: () => "", tools: [calculatorTool], name: "calculator" }),
    /also the name of one of its tools/,
  );
  assert.throws(() => new ToolCallingAgent({ model: () => "", name: "bad name" }), /must be letters/);
  assert.throws(() => new ToolCallingAgent({}), /needs a `model`/);
});

// smolagents' tests/test_agents.py `test_multiagents` (the manager ends with final_answer called with the bare string
// "Final report.") and `test_tool_calling_agents_raises_tool_call_error_being_invoked_with_wrong_arguments` (a
// one-input tool: `{}`, `{"arg": "bar"}` and `[1, 2, 3]` are tool call errors; a bare "sample" is a call).
Deno.test("ToolCallingAgent: a tool with exactly one input takes a bare argument, as in smolagents", async (t) => {
  await t.step("final_answer called with a plain string ends the run with it", async () => {
    const { model } = functionModel([{ calls: [["final_answer", "Final report."]] }]);
    const agent = new ToolCallingAgent({ model, name: "reporter", maxSteps: 3 });
    const result = await agent.run("Write the report.", { returnFullResult: true });
    assert.equal(result.state, "succeeded");
    assert.equal(result.output, "Final report.");
    assert.equal(actions(result.steps).length, 1, "no AgentToolCallError loop");
  });

  await t.step("a one-input tool called with a bare number; two-input tools still need named arguments", async () => {
    const seen: unknown[] = [];
    const square = tool({
      name: "square",
      description: "Squares a number.",
      inputs: z.object({ x: z.number() }),
      run: ({ x }) => {
        seen.push(x);
        return x * x;
      },
    });
    const pair = tool({
      name: "pair",
      description: "Pairs two strings.",
      inputs: z.object({ a: z.string(), b: z.string() }),
      run: ({ a, b }) => `${a}${b}`,
    });
    const { model } = functionModel([
      { calls: [["square", 7]] },
      { calls: [["pair", "ab"]] },
      { calls: [["final_answer", { answer: "done" }]] },
    ]);
    const agent = new ToolCallingAgent({ model, tools: [square, pair], name: "calc", maxSteps: 5 });
    const result = await agent.run("Square 7.", { returnFullResult: true });
    const [first, second] = actions(result.steps);
    assert.deepEqual(seen, [7]);
    assert.equal(first.observations, "49");
    assert.match(second.error?.message ?? "", /arguments must be an object of named arguments, got string/);
  });

  await t.step("a one-input tool: {}, an unknown name and a list are tool call errors", async () => {
    const echo = tool({
      name: "echo",
      description: "Returns the same string.",
      inputs: z.object({ prompt: z.string() }),
      run: ({ prompt }) => prompt,
    });
    for (const args of [{}, { arg: "bar" }, [1, 2, 3]]) {
      const { model } = functionModel([{ calls: [["echo", args]] }, { calls: [["final_answer", "ok"]] }]);
      const agent = new ToolCallingAgent({ model, tools: [echo], name: "echoer", maxSteps: 3 });
      const result = await agent.run("Echo.", { returnFullResult: true });
      const [first] = actions(result.steps);
      assert.equal(first.error?.type, "AgentToolCallError", JSON.stringify(args));
      assert.equal(result.output, "ok");
    }
  });
});

Deno.test("ToolCallingAgent: the prompt and tool list are built once per toolbox and follow its changes", async () => {
  const echo = tool({
    name: "echo",
    description: "Echoes text.",
    inputs: z.object({ text: z.string() }),
    run: (a) => a,
  });
  const { model, calls } = functionModel([
    { calls: [["calculator", { expression: "1 + 1" }]] },
    { calls: [["echo", { text: "hi" }]] },
    { calls: [["final_answer", { answer: "done" }]] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [calculatorTool] });
  assert.equal(agent.systemPrompt, agent.systemPrompt, "the same string while the toolbox is unchanged");
  let state = agent.start("task");
  state = (await agent.step(state)).state;
  agent.toolbox.addTool(echo);
  state = (await agent.step(state)).state;
  agent.toolbox.removeTool("calculator");
  state = (await agent.step(state)).state;
  assert.equal(state.status, "succeeded");
  const names = calls.map((call) => call.options.tools?.map((t) => t.name).sort());
  assert.deepEqual(names, [["calculator", "final_answer"], ["calculator", "echo", "final_answer"], [
    "echo",
    "final_answer",
  ]]);
  const prompts = calls.map((call) => String(call.messages[0].content));
  assert.doesNotMatch(prompts[0], /- echo:/);
  assert.match(prompts[1], /- echo: Echoes text\./);
  assert.doesNotMatch(prompts[2], /- calculator:/);
});

Deno.test("RunResult.state speaks the run status vocabulary, awaiting_input included", async () => {
  const guarded = tool({
    name: "guarded",
    description: "needs a human's approval",
    inputs: z.object({}),
    needsApproval: true,
    run: () => "ran",
  });
  const { model } = functionModel([{ calls: [["guarded", {}]] }]);
  const agent = new ToolCallingAgent({ model, tools: [guarded] });
  const result = await agent.run("go", { returnFullResult: true });
  assert.equal(result.state, "awaiting_input", "a pause is not a failure");
  assert.equal(result.state, agent.lastState?.status);
});
