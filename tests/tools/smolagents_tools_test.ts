// Tests ported from smolagents' tests/test_tools.py and tests/test_final_answer.py, each named after its source.
import assert from "node:assert/strict";
import { z } from "zod";
import { AgentToolCallError } from "../../lib/errors.ts";
import { FinalAnswerTool } from "../../lib/tools/final_answer_tool.ts";
import { Tool, tool } from "../../lib/tools/tool.ts";
import { Toolbox } from "../../lib/tools/toolbox.ts";
import type { ToolInputs } from "../../lib/tools/tool_inputs.ts";

// smolagents: test_tools.py::TestTool::test_tool_input_type_validation (every case)
Deno.test("test_tool_input_type_validation", async (t) => {
  const withType = (type: unknown) => {
    class TypedTool extends Tool<{ text: unknown }, unknown> {
      readonly name = "test_tool";
      readonly description = "A tool for testing type validation";
      readonly inputs = { text: { type, description: "Some input" } } as unknown as ToolInputs;
      readonly outputType = "string" as const;
      forward({ text }: { text: unknown }) {
        return text;
      }
    }
    return () => new Toolbox([new TypedTool()]);
  };
  for (const type of ["string", ["string", "number"]]) {
    await t.step(`valid: ${JSON.stringify(type)}`, () => void withType(type)());
  }
  for (
    const [type, contains] of [
      ["invalid_type", "must be one of"],
      [["string", "invalid_type"], "must be one of"],
      [[123, "string"], "when type is a list, all elements must be strings"],
      [123, "must be a string or list of strings"],
    ] as const
  ) {
    await t.step(`invalid: ${JSON.stringify(type)}`, () => {
      assert.throws(withType(type), (error: Error) => error instanceof TypeError && error.message.includes(contains));
    });
  }
});

// smolagents: test_tools.py::test_validate_tool_arguments (every case; Python types written as zod schemas)
Deno.test("test_validate_tool_arguments", async (t) => {
  const cases: Array<[string, z.ZodType, unknown, boolean]> = [
    ["bool", z.boolean(), true, false],
    ["str", z.string(), "b", false],
    ["int", z.number().int(), 1, false],
    ["float", z.number(), 1, false],
    ["list", z.array(z.unknown()), ["a", "b"], false],
    ["list[str]", z.array(z.string()), ["a", "b"], false],
    ["dict[str, str]", z.record(z.string(), z.string()), { a: "b" }, false],
    ["dict[str, str]", z.record(z.string(), z.string()), "b", true],
    ["bool", z.boolean(), "b", true],
    ["str | int", z.union([z.string(), z.number().int()]), "a", false],
    ["str | int", z.union([z.string(), z.number().int()]), 1, false],
    ["str | int", z.union([z.string(), z.number().int()]), null, true],
    ["str | int", z.union([z.string(), z.number().int()]), true, true],
  ];
  for (const [label, schema, input, expectsError] of cases) {
    await t.step(`${label} with ${JSON.stringify(input)}: ${expectsError ? "error" : "ok"}`, async () => {
      const test_tool = tool({
        name: "test_tool",
        description: "Fake tool",
        inputs: z.object({ argument_a: schema.describe("The input") }),
        run: ({ argument_a }) => JSON.stringify(argument_a),
      });
      const call = test_tool.call({ argument_a: input });
      if (expectsError) await assert.rejects(call, AgentToolCallError);
      else await call;
    });
  }
});

// smolagents: test_tools.py::test_validate_tool_arguments_nullable (every case smolagents runs; its two skipped
// cases: a missing required-but-nullable argument is an error here too, and a null for a defaulted argument is
// taken as leaving it out, so the default applies)
Deno.test("test_validate_tool_arguments_nullable", async (t) => {
  const MISSING = Symbol("missing");
  const cases: Array<[string, z.ZodType, unknown, RegExp | null]> = [
    ["required_unsupported_none", z.string(), "text", null],
    ["required_unsupported_none", z.string(), null, /argument 'param' has type null, expected string/],
    ["required_unsupported_none", z.string(), MISSING, /missing required argument 'param'/],
    ["required_supported_none", z.string().nullable(), "text", null],
    ["required_supported_none", z.string().nullable(), null, null],
    ["required_supported_none", z.string().nullable(), MISSING, /missing required argument 'param'/],
    ["optional_unsupported_none", z.string().default("default"), "text", null],
    ["optional_unsupported_none", z.string().default("default"), MISSING, null],
    ["optional_supported_none_str_default", z.string().nullable().default("default"), "text", null],
    ["optional_supported_none_str_default", z.string().nullable().default("default"), null, null],
    ["optional_supported_none_str_default", z.string().nullable().default("default"), MISSING, null],
    ["optional_supported_none_none_default", z.string().nullable().default(null), "text", null],
    ["optional_supported_none_none_default", z.string().nullable().default(null), null, null],
    ["optional_supported_none_none_default", z.string().nullable().default(null), MISSING, null],
  ];
  for (const [scenario, schema, input, error] of cases) {
    const shown = input === MISSING ? "missing" : JSON.stringify(input);
    await t.step(`${scenario} with ${shown}`, async () => {
      const test_tool = tool({
        name: "test_tool",
        description: "Test tool.",
        inputs: z.object({ param: schema.describe("Input param") }),
        run: ({ param }) => (param === null ? "NULL" : String(param)),
      });
      const call = test_tool.call(input === MISSING ? {} : { param: input });
      if (error) await assert.rejects(call, error);
      else await call;
    });
  }
  await t.step("the skipped case: a null for a defaulted argument leaves it out (the default applies)", async () => {
    const test_tool = tool({
      name: "test_tool",
      description: "Test tool.",
      inputs: z.object({ param: z.string().default("default").describe("Input param") }),
      run: ({ param }) => param,
    });
    assert.equal(await test_tool.call({ param: null }), "default");
  });
});

// smolagents: test_tools.py::TestTool::test_tool_init_vanilla (a Tool subclass with smolagents-style inputs)
Deno.test("test_tool_init_vanilla", async () => {
  class HFModelDownloadsTool extends Tool<{ text: string }, string> {
    readonly name = "model_download_counter";
    readonly description =
      "This is a tool that returns the most downloaded model of a given task on the Hugging Face Hub.";
    readonly inputs: ToolInputs = {
      text: { type: "string", description: "a task category (such as text-classification, depth-estimation, etc)" },
    };
    readonly outputType = "string" as const;
    forward({ text }: { text: string }) {
      return text + "ok";
    }
  }
  const created = new HFModelDownloadsTool();
  assert.equal(created.inputs.text.type, "string");
  assert.equal(created.outputType, "string");
  assert.equal(await created.call({ text: "hey" }), "heyok");
  assert.equal(await created.call("hey"), "heyok", "one input: the bare value works too");
});

// smolagents: test_final_answer.py::TestFinalAnswerTool::test_exact_match_arg
Deno.test("test_exact_match_arg", async () => {
  assert.equal(await new FinalAnswerTool().call("Final answer"), "Final answer");
});

// smolagents: test_final_answer.py::TestFinalAnswerTool::test_exact_match_kwarg
Deno.test("test_exact_match_kwarg", async () => {
  assert.equal(await new FinalAnswerTool().call({ answer: "Final answer" }), "Final answer");
});

// smolagents: test_tools.py::ToolTesterMixin::test_common_attributes, run for FinalAnswerTool as test_final_answer.py
Deno.test("test_common_attributes (FinalAnswerTool)", () => {
  const finalAnswer = new FinalAnswerTool();
  assert.equal(typeof finalAnswer.description, "string");
  assert.equal(typeof finalAnswer.name, "string");
  assert.equal(typeof finalAnswer.inputs, "object");
  assert.equal(finalAnswer.outputType, "any");
});
