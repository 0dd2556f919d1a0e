import assert from "node:assert/strict";
import { z } from "zod";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import {
  type ActionStep,
  calculatorTool,
  CodeAgent,
  ConfigurationError,
  ReactCodeAgent,
  tool,
  ToolCallingAgent,
} from "../../lib/mod.ts";
import { CODE_TOOL_NAME } from "../../lib/agents/code_agent.ts";
import { RETRY_HINT } from "../../lib/memory/memory_to_messages.ts";
import { functionModel } from "../support/function_model.ts";

const executor = createDenoQuickJSExecutor({ timeLimitMs: 2_000 });
const actions = (steps: unknown[]) => steps.filter((s) => (s as ActionStep).type === "action") as ActionStep[];

const lookup = tool({
  name: "lookup",
  description: "Looks up a city's population.",
  inputs: z.object({ city: z.string().describe("City name") }),
  output: "integer",
  run: ({ city }) => ({ Paris: 2_100_000, Oslo: 700_000 } as Record<string, number>)[city] ?? 0,
});

Deno.test("CodeAgent: tools in code, variables across steps, final_answer from nested code", async () => {
  const { model, calls } = functionModel([
    'Thought: look both up.\n<code>\nconst paris = await lookup({ city: "Paris" });\nconst oslo = await lookup({ city: "Oslo" });\nconsole.log(paris, oslo);\n',
    "Thought: compare.\n<code>\nfunction answer() {\n  try {\n    final_answer(paris > oslo ? `Paris, by ${paris - oslo}` : 'Oslo');\n  } catch (e) {\n    console.log('swallowed?');\n  }\n}\nanswer();\n</code>",
  ]);
  const agent = new CodeAgent({ model, tools: [lookup], executor });
  const result = await agent.run("Which is bigger, Paris or Oslo?", { returnFullResult: true });
  assert.equal(result.output, "Paris, by 1400000");
  const [first, second] = actions(result.steps);
  assert.equal(first.observations, "Execution logs:\n2100000 700000\n");
  assert.deepEqual(first.toolCalls, [{ id: "call_1", name: CODE_TOOL_NAME, arguments: first.code }]);
  assert.match(first.modelOutput!, /<\/code>$/, "the closing tag cut by the stop sequence is restored");
  assert.equal(second.isFinalAnswer, true);
  assert.doesNotMatch(second.observations!, /swallowed/);
  assert.deepEqual(calls[0].options.stopSequences, ["Observation:", "Calling tools:", "</code>"]);
  const prompt = String(calls[0].messages[0].content);
  assert.match(prompt, /declare function lookup\(args: \{ city: string \}\): Promise<number>;/);
  assert.match(prompt, /Only these modules can be imported: \(none\)/);
});

Deno.test("CodeAgent: errors name the failing line, keep earlier output, and are fed back", async () => {
  const { model, calls } = functionModel([
    'Thought: go.\n<code>\nconsole.log("before");\nconst x = 1;\nundefinedThing.call();\n</code>',
    "I will just answer: 4",
    "<code>\nfinal_answer(x + 3);\n</code>",
  ]);
  const agent = new CodeAgent({ model, executor });
  const result = await agent.run("x?", { returnFullResult: true });
  const [failed, noCode, done] = actions(result.steps);
  assert.equal(failed.error?.type, "AgentExecutionError");
  assert.match(
    failed.error!.message,
    /^Code execution failed at line 3 \(undefinedThing\.call\(\);\): ReferenceError: /,
  );
  assert.equal(failed.observations, "Execution logs:\nbefore\n");
  assert.equal(noCode.error?.type, "AgentParsingError");
  assert.equal(done.actionOutput, 4, "x from the failed step was kept");
  const feedback = String(calls[1].messages.at(-1)?.content);
  assert.match(feedback, /Code execution failed at line 3/);
  assert.ok(feedback.endsWith(RETRY_HINT));
});

Deno.test("CodeAgent: variables that cannot be kept are named in the observation", async () => {
  const { model } = functionModel([
    "<code>\nconst keep = { a: [1, 2] };\nconst gone = new Map();\nconst fn = () => 1;\n</code>",
    "<code>\nfinal_answer(typeof gone + ' ' + keep.a.length);\n</code>",
  ]);
  const agent = new CodeAgent({ model, executor });
  const result = await agent.run("x", { returnFullResult: true });
  const first = actions(result.steps)[0];
  assert.match(first.observations!, /were dropped: (gone, fn|fn, gone)$/);
  assert.equal(result.output, "undefined 2");
});

Deno.test("CodeAgent: additionalArgs are variables; authorized imports work and are listed", async () => {
  const { model, calls } = functionModel([
    '<code>\nimport { mean } from "math";\nfinal_answer(mean(numbers));\n</code>',
  ]);
  const agent = new CodeAgent({
    model,
    executor: createDenoQuickJSExecutor({ authorizedImports: ["math"] }),
    authorizedImports: ["math"],
    instructions: "Prefer the math module.",
  });
  assert.equal(await agent.run("average?", { additionalArgs: { numbers: [1, 2, 3, 6] } }), 3);
  const prompt = String(calls[0].messages[0].content);
  assert.match(prompt, /Only these modules can be imported: math/);
  assert.match(prompt, /Additional instructions:\nPrefer the math module\./);
  assert.match(String(calls[0].messages[1].content), /available in your code as variables[^]*"numbers"/);
});

Deno.test("CodeAgent: time limit is an error fed back to the model, not a hung step", async () => {
  const { model } = functionModel(["<code>\nwhile (true) {}\n</code>", "<code>\nfinal_answer('recovered');\n</code>"]);
  const agent = new CodeAgent({ model, executor: createDenoQuickJSExecutor({ timeLimitMs: 200 }) });
  const result = await agent.run("spin", { returnFullResult: true });
  assert.match(actions(result.steps)[0].error!.message, /Timeout|time limit/i);
  assert.equal(result.output, "recovered");
});

Deno.test("CodeAgent one-shot mode and returnGeneratedCode (transformers-agents)", async (t) => {
  await t.step("one-shot: the program runs once and its last output is the answer", async () => {
    const { model, calls } = functionModel([
      "<code>\nconst r = await calculator({ expression: '2 ^ 3.5' });\nMath.round(r * 100) / 100\n</code>",
    ]);
    const agent = new CodeAgent({ model, tools: [calculatorTool], executor, oneShot: true });
    assert.equal(await agent.run("What is 2 power 3.5?"), 11.31);
    assert.equal(calls.length, 1);
  });

  await t.step("returnGeneratedCode returns the code without running it", async () => {
    let ran = false;
    const sideEffect = tool({ name: "side_effect", description: "x", inputs: z.object({}), run: () => (ran = true) });
    const { model } = functionModel(["Thought: x\n<code>\nawait side_effect({});\n"]);
    const agent = new ReactCodeAgent({ model, tools: [sideEffect], executor });
    assert.equal(await agent.run("do it", { returnGeneratedCode: true }), "await side_effect({});");
    assert.equal(ran, false);
    await assert.rejects(
      () => new ToolCallingAgent({ model: () => "" }).run("x", { returnGeneratedCode: true }),
      ConfigurationError,
    );
  });
});

Deno.test("CodeAgent needs an executor", () => {
  // @ts-expect-error: executor is required
  assert.throws(() => new CodeAgent({ model: () => "" }), /needs an `executor`/);
});

// smolagents runs Python, where `tool("a", 3)` maps positional arguments to `forward`'s parameters in order.
Deno.test("CodeAgent: several positional arguments map to a tool's inputs in declared order", async (t) => {
  const seen: unknown[] = [];
  const repeat = tool({
    name: "repeat",
    description: "Repeats a text.",
    inputs: z.object({
      text: z.string().describe("The text"),
      times: z.number().describe("How often"),
      separator: z.string().optional().describe("Between the copies"),
    }),
    run: (args) => {
      seen.push(args);
      return Array(args.times).fill(args.text).join(args.separator ?? "");
    },
  });

  await t.step("two of three inputs, then all three; named arguments unchanged", async () => {
    seen.length = 0;
    const { model } = functionModel([
      '<code>\nconst a = await repeat("ab", 2);\nconst b = await repeat("x", 3, "-");\n' +
      'const c = await repeat({ text: "n", times: 1 });\nfinal_answer([a, b, c]);\n</code>',
    ]);
    const agent = new CodeAgent({ model, tools: [repeat], executor });
    assert.deepEqual(await agent.run("go"), ["abab", "x-x-x", "n"]);
    assert.deepEqual(seen, [{ text: "ab", times: 2 }, { text: "x", times: 3, separator: "-" }, {
      text: "n",
      times: 1,
    }]);
  });

  await t.step("too many, or of the wrong type: a tool error the code can catch, fed back to the model", async () => {
    seen.length = 0;
    const { model, calls } = functionModel([
      '<code>\ntry { await repeat("a", 1, "", "extra") } catch (e) { print(e.message) }\nawait repeat(2, "a");\n</code>',
      "<code>\nfinal_answer('ok');\n</code>",
    ]);
    const agent = new CodeAgent({ model, tools: [repeat], executor });
    const result = await agent.run("go", { returnFullResult: true });
    const [first] = actions(result.steps);
    assert.match(first.observations!, /it takes 3 inputs \(text, times, separator\), got 4 positional arguments/);
    assert.match(first.error!.message, /argument 'text' has type integer, expected string/);
    assert.deepEqual(seen, [], "the tool never ran");
    assert.equal(calls.length, 2);
  });
});
