// Tests ported from smolagents' tests/test_utils.py, each named after its source.
import assert from "node:assert/strict";
import { z } from "zod";
import { ConfigurationError } from "../../lib/errors.ts";
import { ManagedAgent } from "../../lib/agents/managed_agent.ts";
import { ToolCallingAgent } from "../../lib/agents/tool_calling_agent.ts";
import { Tool, tool } from "../../lib/tools/tool.ts";
import { isValidName } from "../../lib/tools/tool_name.ts";
import { Toolbox } from "../../lib/tools/toolbox.ts";

// smolagents: test_utils.py::test_is_valid_name (every case), then where smolagents applies it: tool names.
Deno.test("test_is_valid_name", async (t) => {
  await t.step("smolagents' cases", () => {
    const cases: Array<[unknown, boolean]> = [
      // Valid identifiers
      ["valid_name", true],
      ["ValidName", true],
      ["valid123", true],
      ["_private", true],
      // Invalid identifiers
      ["", false],
      ["123invalid", false],
      ["invalid-name", false],
      ["invalid name", false],
      ["invalid.name", false],
      // Python keywords
      ["if", false],
      ["for", false],
      ["class", false],
      ["return", false],
      // Non-string inputs
      [123, false],
      [null, false],
      [[], false],
      [{}, false],
    ];
    for (const [name, expected] of cases) assert.equal(isValidName(name), expected, JSON.stringify(name));
  });

  await t.step("JavaScript's reserved words too (CodeAgent code calls tools by name); other names stay valid", () => {
    for (const name of ["function", "new", "delete", "typeof", "null", "None", "lambda", "await"]) {
      assert.equal(isValidName(name), false, name);
    }
    for (const name of ["print", "search", "match", "type", "final_answer", "web_search"]) {
      assert.equal(isValidName(name), true, name);
    }
  });

  await t.step("a tool named like a keyword or not as an identifier is refused", () => {
    const inputs = z.object({ x: z.string().describe("x") });
    for (const name of ["return", "class", "my-tool", "2fast", "delete"]) {
      assert.throws(() => tool({ name, description: "d", inputs, run: ({ x }) => x }), /Invalid tool name/, name);
    }
    class Subclassed extends Tool<{ x: string }, string> {
      constructor(readonly name: string) {
        super();
      }
      readonly description = "d";
      readonly inputs = { x: { type: "string" as const, description: "x" } };
      readonly outputType = "string" as const;
      forward({ x }: { x: string }) {
        return x;
      }
    }
    assert.throws(() => new Toolbox([new Subclassed("import")]), ConfigurationError);
    assert.throws(() => new ToolCallingAgent({ model: () => "", tools: [new Subclassed("not valid")] }), /identifier/);
    const toolbox = new Toolbox([new Subclassed("fine")]);
    assert.throws(() => toolbox.updateTool(new Subclassed("fine-2")), ConfigurationError);
    assert.deepEqual(toolbox.names.sort(), ["final_answer", "fine"]);
  });

  await t.step("a managed agent's name is a tool name to its manager", () => {
    const sub = new ToolCallingAgent({ name: "worker", model: () => "" });
    assert.throws(() => new ManagedAgent(sub, { name: "while" }), /reserved word/);
    assert.equal(new ManagedAgent(sub, { name: "helper" }).name, "helper");
  });
});
