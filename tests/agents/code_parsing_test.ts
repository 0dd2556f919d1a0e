import assert from "node:assert/strict";
import { parseCodeAction, parseCodeBlobs } from "../../lib/agents/code_parsing.ts";
import { toolSignature } from "../../lib/agents/prompts/code_agent_prompt.ts";
import { AgentParsingError, calculatorTool, Tool, type ToolInputs } from "../../lib/mod.ts";

Deno.test("parseCodeBlobs", async (t) => {
  await t.step("<code> blocks (default), several joined by a blank line", () => {
    assert.equal(
      parseCodeBlobs("Thought: x\n<code>\nconst a = 1;\nconsole.log(a);\n</code>"),
      "const a = 1;\nconsole.log(a);",
    );
    assert.equal(parseCodeBlobs("<code>a()</code> then <code>b()</code>"), "a()\n\nb()");
  });

  await t.step("a block cut at the closing tag (a stop sequence) still counts", () => {
    assert.equal(parseCodeBlobs("Thought: go\n<code>\nconst x = await f({});\n"), "const x = await f({});");
  });

  await t.step("fenced js / javascript / ts blocks when there is no tagged block", () => {
    assert.equal(
      parseCodeBlobs("a\n```js\nx()\n```\nb\n```typescript\ny()\n```\n```javascript\nz()\n```"),
      "x()\n\ny()\n\nz()",
    );
    assert.equal(parseCodeBlobs("```\nplain()\n```"), "plain()");
  });

  await t.step("custom tags", () => {
    assert.equal(parseCodeBlobs("<js>run()</js>", ["<js>", "</js>"]), "run()");
  });

  await t.step("no code: a parsing error with the expected format, and the final_answer hint when fitting", () => {
    assert.throws(() => parseCodeBlobs("The final answer is 4."), (error: Error) => {
      assert.ok(error instanceof AgentParsingError);
      assert.match(error.message, /no code block/);
      assert.match(error.message, /<code>\nconst result = await some_tool/);
      assert.match(error.message, /final_answer\("YOUR FINAL ANSWER"\)/);
      return true;
    });
    assert.throws(() => parseCodeBlobs("let me think; f(x) = {y}"), (error: Error) => {
      assert.doesNotMatch(error.message, /final_answer\(/);
      return true;
    });
    assert.throws(() => parseCodeBlobs("<code>   </code>"), AgentParsingError);
  });
});

Deno.test("tool signatures for the CodeAgent prompt", () => {
  class Search extends Tool<{ query: string; limit?: number | null }, string[]> {
    readonly name = "search";
    readonly description = "Searches the notes.\nReturns matching titles.";
    readonly inputs: ToolInputs = {
      query: { type: "string", description: "What to look for" },
      limit: { type: "integer", description: "At most this many", nullable: true },
    };
    readonly outputType = "array" as const;
    forward() {
      return [];
    }
  }
  assert.equal(
    toolSignature(new Search()),
    [
      "/**",
      " * Searches the notes.",
      " * Returns matching titles.",
      " * @param args.query What to look for",
      " * @param args.limit At most this many",
      " */",
      "declare function search(args: { query: string; limit?: number | null }): Promise<unknown[]>;",
    ].join("\n"),
  );
  assert.match(
    toolSignature(calculatorTool),
    /declare function calculator\(args: \{ expression: string \}\): Promise<number>;/,
  );
});

// smolagents: test_utils.py::AgentTextTests::test_parse_code_blobs (Python fences read as JavaScript ones; a reply
// that is code without tags comes back as code to run, flagged untagged)
Deno.test("test_parse_code_blobs", () => {
  assert.throws(() => parseCodeBlobs("Wrong blob!", ["<code>", "</code>"]), AgentParsingError);
  assert.equal(
    parseCodeBlobs('\nHere is how to solve the problem:\n<code>\nimport { mean } from "math";\n</code>\n'),
    'import { mean } from "math";',
  );
  assert.deepEqual(parseCodeAction('import { mean } from "math";', ["```js", "```"]), {
    code: 'import { mean } from "math";',
    untagged: true,
  });
  assert.equal(parseCodeBlobs("<code>    \ncode_a\n</code>", ["<code>", "</code>"]), "code_a");
  assert.equal(
    parseCodeBlobs('\nHere is how to solve the problem:\n```js\nimport { mean } from "math";\n```\n'),
    'import { mean } from "math";',
  );
  assert.deepEqual(parseCodeAction("<code>\nx()\n</code>"), { code: "x()", untagged: false });
  assert.throws(() => parseCodeAction("   "), AgentParsingError);
});

// smolagents: test_utils.py::AgentTextTests::test_multiple_code_blobs
Deno.test("test_multiple_code_blobs", () => {
  const input = "<code>\nFoo\n</code>\n\n<code>\ncode_a\n</code>\n\n<code>\ncode_b\n</code>";
  assert.equal(parseCodeBlobs(input, ["<code>", "</code>"]), "Foo\n\ncode_a\n\ncode_b");
});
