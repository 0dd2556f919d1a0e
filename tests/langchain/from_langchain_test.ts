import assert from "node:assert/strict";
import { z } from "zod";
import { DynamicStructuredTool, tool as langchainTool } from "@langchain/core/tools";
import { AgentToolCallError, ConfigurationError, ToolCallingAgent } from "../../lib/mod.ts";
import { fromLangchain, LangchainTool, Tool } from "../../lib/langchain/mod.ts";
import { functionModel } from "../support/function_model.ts";

const multiply = langchainTool(({ a, b }: { a: number; b: number }) => String(a * b), {
  name: "multiply",
  description: "Multiplies two numbers.",
  schema: z.object({ a: z.number().describe("first factor"), b: z.number().describe("second factor") }),
});

Deno.test("Tool.fromLangchain", async (t) => {
  await t.step("a real @langchain/core tool() with a zod schema: inputs, validation, call", async () => {
    const adapted = Tool.fromLangchain(multiply);
    assert.ok(adapted instanceof LangchainTool);
    assert.equal(adapted.name, "multiply");
    assert.equal(adapted.description, "Multiplies two numbers.");
    assert.deepEqual(adapted.inputs, {
      a: { type: "number", description: "first factor" },
      b: { type: "number", description: "second factor" },
    });
    assert.equal(await adapted.call({ a: 6, b: 7 }), "42");
    await assert.rejects(adapted.call({ a: "6", b: 7 }), AgentToolCallError);
  });

  await t.step("a DynamicStructuredTool with a JSON Schema, an optional argument, and a dashed name", async () => {
    const seen: unknown[] = [];
    const greet = new DynamicStructuredTool({
      name: "greet-person",
      description: "Greets someone.",
      schema: {
        type: "object",
        properties: { who: { type: "string", description: "name" }, loud: { type: "boolean" } },
        required: ["who"],
      },
      func: (input: Record<string, unknown>) => {
        seen.push(input);
        return Promise.resolve(input.loud ? `HELLO ${input.who}` : `hello ${input.who}`);
      },
    });
    const adapted = fromLangchain(greet);
    assert.equal(adapted.name, "greet_person");
    assert.deepEqual(adapted.inputs.loud, { type: "boolean", description: "", nullable: true });
    assert.equal(await adapted.call({ who: "Ada", loud: null }), "hello Ada");
    assert.equal(await adapted.call({ who: "Ada", loud: true }), "HELLO Ada");
    assert.deepEqual(seen, [{ who: "Ada" }, { who: "Ada", loud: true }]);
  });

  await t.step("the call's abort signal reaches the LangChain tool", async () => {
    const slow = langchainTool(async (_input: { q: string }, config) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return config?.signal?.aborted ? "aborted" : "finished";
    }, { name: "slow", description: "waits", schema: z.object({ q: z.string() }) });
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await assert.rejects(fromLangchain(slow).call({ q: "x" }, { signal: controller.signal }));
  });

  await t.step("not a tool, or a tool without invoke/call, is a ConfigurationError", () => {
    assert.throws(() => fromLangchain({} as never), ConfigurationError);
    assert.throws(() => fromLangchain({ name: "x", description: "y" }), /neither invoke\(\) nor call\(\)/);
  });

  await t.step("a ToolCallingAgent calls the adapted tool", async () => {
    const { model } = functionModel([
      { calls: [["multiply", { a: 3, b: 5 }]] },
      { calls: [["final_answer", { answer: "15" }]] },
    ]);
    const agent = new ToolCallingAgent({ tools: [Tool.fromLangchain(multiply)], model });
    const result = await agent.run("3 times 5?", { returnFullResult: true });
    assert.equal(String(result.output), "15");
    assert.match(JSON.stringify(result.steps[1]), /Observation[^"]*15|"15"/);
  });
});
