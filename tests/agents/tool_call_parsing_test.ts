import assert from "node:assert/strict";
import { AgentParsingError } from "../../lib/mod.ts";
import { parseJsonIfNeeded, parseToolCallFromText } from "../../lib/agents/tool_call_parsing.ts";

Deno.test("parseToolCallFromText", async (t) => {
  await t.step("the JSON blob after Action:", () => {
    const call = parseToolCallFromText(
      'Thought: add them.\nAction:\n{"name": "add", "arguments": {"a": 1, "b": {"c": 2}}}\nsome trailing text',
    );
    assert.deepEqual(call, { id: "call_0", name: "add", arguments: { a: 1, b: { c: 2 } } });
  });

  await t.step("the older action / action_input keys", () => {
    const call = parseToolCallFromText('Action: {"action": "search", "action_input": {"query": "x"}}');
    assert.equal(call.name, "search");
    assert.deepEqual(call.arguments, { query: "x" });
  });

  await t.step("string arguments holding JSON are parsed", () => {
    const call = parseToolCallFromText('Action: {"name": "add", "arguments": "{\\"a\\": 1}"}');
    assert.deepEqual(call.arguments, { a: 1 });
    const plain = parseToolCallFromText('Action: {"action": "final_answer", "action_input": "just text"}');
    assert.equal(plain.arguments, "just text");
  });

  await t.step("a blob without Action: is still found, from the first { to the last }", () => {
    const call = parseToolCallFromText('I will call {"name": "t", "arguments": {"x": "}"}} now');
    assert.deepEqual(call.arguments, { x: "}" });
  });

  await t.step("no blob, invalid JSON and missing name are parsing errors with the expected format", () => {
    assert.throws(() => parseToolCallFromText("I think the answer is 4."), (error: Error) => {
      assert.ok(error instanceof AgentParsingError);
      assert.match(error.message, /No tool call found/);
      assert.match(error.message, /"name": "tool_name"/);
      return true;
    });
    assert.throws(
      () => parseToolCallFromText('Action: {"name": "t", arguments: }'),
      /The JSON blob you used is invalid/,
    );
    assert.throws(() => parseToolCallFromText('Action: {"arguments": {}}'), /no "name" key/);
  });
});

Deno.test("parseJsonIfNeeded leaves non-JSON alone", () => {
  assert.deepEqual(parseJsonIfNeeded("[1, 2]"), [1, 2]);
  assert.equal(parseJsonIfNeeded("{not json"), "{not json");
  assert.deepEqual(parseJsonIfNeeded({ a: 1 }), { a: 1 });
});

// smolagents: test_models.py::TestModel::test_parse_json_if_needed (a JSON number is parsed, as smolagents does)
Deno.test("test_parse_json_if_needed", () => {
  assert.equal(parseJsonIfNeeded("abc"), "abc");
  assert.deepEqual(parseJsonIfNeeded('{"a": 3}'), { a: 3 });
  assert.equal(parseJsonIfNeeded("3"), 3);
  assert.equal(parseJsonIfNeeded(3), 3);
  assert.equal(parseJsonIfNeeded("true"), true);
  assert.equal(parseJsonIfNeeded('"quoted"'), "quoted");
  assert.equal(parseJsonIfNeeded("Final report."), "Final report.");
});
