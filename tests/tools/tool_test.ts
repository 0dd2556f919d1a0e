import assert from "node:assert/strict";
import { z } from "zod";
import {
  AgentToolCallError,
  calculatorTool,
  FinalAnswerTool,
  Tool,
  tool,
  Toolbox,
  type ToolInputs,
} from "../../lib/mod.ts";
import { evaluateExpression } from "../../lib/tools/calculator_tool.ts";

class GreetTool extends Tool<{ name: string; times?: number | null }, string> {
  readonly name = "greet";
  readonly description = "Greets someone.";
  readonly inputs: ToolInputs = {
    name: { type: "string", description: "Who to greet" },
    times: { type: "integer", description: "How many times", nullable: true },
  };
  readonly outputType = "string" as const;
  setups = 0;
  override setup() {
    this.setups++;
  }
  forward({ name, times }: { name: string; times?: number | null }) {
    return Array(times ?? 1).fill(`hi ${name}`).join(" ");
  }
}

Deno.test("Tool subclass (smolagents style)", async (t) => {
  await t.step("validates and runs, setup runs once lazily", async () => {
    const greet = new GreetTool();
    assert.equal(greet.setups, 0);
    assert.equal(await greet.call({ name: "Ada", times: 2 }), "hi Ada hi Ada");
    assert.equal(await greet.call({ name: "Bo" }), "hi Bo");
    assert.equal(await greet.call({ name: "Cy", times: null }), "hi Cy");
    assert.equal(greet.setups, 1);
  });

  await t.step("errors name the argument, its type and the expected type", async () => {
    const greet = new GreetTool();
    await assert.rejects(() => greet.call({ name: 3 }), (error: Error) => {
      assert.ok(error instanceof AgentToolCallError);
      assert.match(error.message, /argument 'name' has type integer, expected string/);
      assert.match(error.message, /Expected inputs: .*"name"/);
      return true;
    });
    await assert.rejects(() => greet.call({}), /missing required argument 'name' \(string\)/);
    await assert.rejects(() => greet.call({ name: "x", extra: 1 }), /unknown argument 'extra'/);
    await assert.rejects(() => greet.call({ name: "x", times: 1.5 }), /argument 'times'.*(integer|int)/);
    await assert.rejects(() => greet.call("Ada"), /arguments must be an object of named arguments, got string/);
    assert.equal(greet.setups, 0, "setup does not run for invalid calls");
  });

  await t.step("JSON schema for the model", () => {
    const schema = new GreetTool().parameters as {
      type: string;
      properties: Record<string, { type?: unknown; description?: string }>;
      required: string[];
      additionalProperties: boolean;
    };
    assert.equal(schema.type, "object");
    assert.deepEqual(schema.required, ["name"]);
    assert.equal(schema.properties.name.description, "Who to greet");
    assert.equal(schema.additionalProperties, false);
    assert.equal("$schema" in schema, false);
  });

  // smolagents' tests/test_tools.py `test_tool_default_parameters_is_nullable`, extended to what the model is told: optional
  // and defaulted arguments are nullable and not required; a null for one is the same as leaving it out.
  await t.step("optional and defaulted arguments are nullable and not required; null leaves them out", async () => {
    const search = tool({
      name: "search",
      description: "Searches.",
      inputs: z.object({
        query: z.string(),
        limit: z.number().int().default(10),
        site: z.string().optional(),
        after: z.string().nullable(),
      }),
      run: (args) => args,
    });
    const schema = search.parameters as {
      required: string[];
      properties: Record<string, { nullable?: boolean; default?: unknown }>;
    };
    assert.deepEqual(schema.required, ["query", "after"]);
    assert.equal(schema.properties.limit.nullable, true);
    assert.equal(schema.properties.limit.default, 10);
    assert.equal(schema.properties.site.nullable, true);
    assert.equal(schema.properties.query.nullable, undefined);
    assert.equal(search.inputs.limit.nullable, true, "the prompt's inputs say so too");
    assert.deepEqual(await search.call({ query: "q", limit: null, site: null, after: null }), {
      query: "q",
      limit: 10,
      after: null,
    });
    await assert.rejects(() => search.call({ query: "q", limit: null }), /after/);
  });

  await t.step("the JSON schema is converted once per schema, and again when the schema changes", () => {
    class Switchable extends GreetTool {
      current: z.ZodType<{ name: string; times?: number | null }> = z.object({ name: z.string() });
      override get schema() {
        return this.current;
      }
    }
    const greet = new Switchable();
    const first = greet.parameters;
    assert.equal(greet.parameters, first, "every step reuses the converted schema");
    assert.deepEqual(Object.keys(first.properties as object), ["name"]);
    greet.current = z.object({ name: z.string(), times: z.number().int().nullable().optional() });
    assert.deepEqual(Object.keys(greet.parameters.properties as object), ["name", "times"]);
  });
});

Deno.test("tool() from a zod schema", async (t) => {
  const add = tool({
    name: "add",
    description: "Adds two integers.",
    inputs: z.object({
      a: z.number().int().describe("first"),
      b: z.number().int().describe("second"),
      note: z.string().nullable().optional().describe("ignored"),
    }),
    output: "integer",
    run: ({ a, b }) => a + b,
  });

  await t.step("inputs are described smolagents-style", () => {
    assert.deepEqual(add.inputs.a, { type: "integer", description: "first" });
    assert.deepEqual(add.inputs.note, { type: "string", description: "ignored", nullable: true });
    assert.equal(add.outputType, "integer");
  });

  await t.step("strict validation: unknown keys are rejected, not stripped", async () => {
    assert.equal(await add.call({ a: 2, b: 3 }), 5);
    await assert.rejects(() => add.call({ a: 2, b: 3, c: 4 }), /unknown argument 'c'/);
    await assert.rejects(() => add.call({ a: "2", b: 3 }), /argument 'a' has type string, expected number/);
    await assert.rejects(() => add.call({ a: null, b: 3 }), /argument 'a' has type null/);
  });

  await t.step("names must be identifiers", () => {
    assert.throws(() => tool({ name: "bad name", description: "", inputs: z.object({}), run: () => 1 }), TypeError);
  });
});

Deno.test("Toolbox", async (t) => {
  await t.step("always holds final_answer; names are unique", () => {
    const box = new Toolbox([calculatorTool]);
    assert.deepEqual(box.names.sort(), ["calculator", "final_answer"]);
    assert.throws(() => box.addTool(calculatorTool), /already in the toolbox/);
    box.removeTool("calculator");
    assert.deepEqual(box.names, ["final_answer"]);
    assert.throws(() => box.removeTool("calculator"), /No tool named/);
    box.addTool(calculatorTool);
    box.clearToolbox();
    assert.deepEqual(box.names, ["final_answer"]);
  });

  await t.step("version changes with every add, update, remove and clear", () => {
    const box = new Toolbox();
    const seen = [box.version];
    box.addTool(calculatorTool);
    seen.push(box.version);
    box.updateTool(calculatorTool);
    seen.push(box.version);
    box.removeTool("calculator");
    seen.push(box.version);
    box.clearToolbox();
    seen.push(box.version);
    assert.equal(new Set(seen).size, seen.length, `versions ${seen}`);
    assert.throws(() => box.removeTool("calculator"));
    assert.equal(box.version, seen.at(-1), "a failed change leaves the version");
  });

  await t.step("descriptions list inputs and output type", () => {
    const text = new Toolbox([calculatorTool]).showToolDescriptions();
    assert.match(text, /- calculator: Evaluates an arithmetic expression/);
    assert.match(text, /Takes inputs: \{"expression":\{"type":"string"/);
    assert.match(text, /Returns an output of type: number/);
  });

  await t.step("final_answer returns its answer", async () => {
    assert.deepEqual(await new FinalAnswerTool().call({ answer: { x: 1 } }), { x: 1 });
  });
});

Deno.test("calculator", async (t) => {
  await t.step("precedence, associativity, functions, constants", () => {
    assert.equal(evaluateExpression("(2 + 3) * 4 ^ 2"), 80);
    assert.equal(evaluateExpression("2 ^ 3 ^ 2"), 512);
    assert.equal(evaluateExpression("2 ** 10"), 1024);
    assert.equal(evaluateExpression("-2 ^ 2"), -4);
    assert.equal(evaluateExpression("10 % 4 + sqrt(16) + max(1, 7, 3)"), 13);
    assert.equal(evaluateExpression("1.5e3 / 3"), 500);
    assert.ok(Math.abs(evaluateExpression("cos(pi)") + 1) < 1e-12);
  });
  await t.step("errors are clear, nothing is evaluated as code", async () => {
    assert.throws(() => evaluateExpression("2 +"), /unexpected end/);
    assert.throws(() => evaluateExpression("constructor(1)"), /unknown symbol 'constructor'/);
    assert.throws(() => evaluateExpression("1 / 0"), /not a finite number/);
    assert.throws(() => evaluateExpression("(1 + 2"), /expected '\)'/);
    await assert.rejects(() => calculatorTool.call({ expression: "2 +" }), /Cannot evaluate '2 \+'/);
  });
});
