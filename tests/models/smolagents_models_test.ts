// Tests ported from smolagents' tests/test_models.py (message helpers and tool calls written as text), each named
// after its source. get_tool_call_from_text is our parseToolCallFromText; get_clean_message_list is prepareMessages;
// remove_content_after_stop_sequences is cutAtStopSequences.
import assert from "node:assert/strict";
import { parseToolCallFromText } from "../../lib/agents/tool_call_parsing.ts";
import { cutAtStopSequences, prepareMessages } from "../../lib/models/message_utils.ts";
import type { ChatMessage } from "../../lib/models/chat_message.ts";

// smolagents: test_models.py::TestGetToolCallFromText::test_get_tool_call_from_text_basic
Deno.test("test_get_tool_call_from_text_basic", () => {
  const call = parseToolCallFromText('{"name": "weather_tool", "arguments": "New York"}');
  assert.equal(call.name, "weather_tool");
  assert.equal(call.arguments, "New York");
  assert.equal(typeof call.id, "string");
});

// smolagents: test_models.py::TestGetToolCallFromText::test_get_tool_call_from_text_name_key_missing
// Differs on purpose: {"action": ...} is transformers-agents' format and names the tool here; a blob with no name
// key at all is the error.
Deno.test("test_get_tool_call_from_text_name_key_missing", () => {
  assert.throws(() => parseToolCallFromText('{"tool": "weather_tool", "arguments": "New York"}'), /no "name" key/);
  assert.equal(parseToolCallFromText('{"action": "weather_tool", "arguments": "New York"}').name, "weather_tool");
});

// smolagents: test_models.py::TestGetToolCallFromText::test_get_tool_call_from_text_json_object_args
Deno.test("test_get_tool_call_from_text_json_object_args", () => {
  const call = parseToolCallFromText('{"name": "weather_tool", "arguments": {"city": "New York"}}');
  assert.deepEqual(call.arguments, { city: "New York" });
});

// smolagents: test_models.py::TestGetToolCallFromText::test_get_tool_call_from_text_json_string_args
Deno.test("test_get_tool_call_from_text_json_string_args", () => {
  const call = parseToolCallFromText('{"name": "weather_tool", "arguments": "{\\"city\\": \\"New York\\"}"}');
  assert.deepEqual(call.arguments, { city: "New York" });
});

// smolagents: test_models.py::TestGetToolCallFromText::test_get_tool_call_from_text_missing_args (smolagents gives
// None, which its agent then calls as no arguments; we give the empty arguments directly)
Deno.test("test_get_tool_call_from_text_missing_args", () => {
  assert.deepEqual(parseToolCallFromText('{"name": "weather_tool"}').arguments, {});
});

// smolagents: test_models.py::TestGetToolCallFromText::test_get_tool_call_from_text_numeric_args
Deno.test("test_get_tool_call_from_text_numeric_args", () => {
  const call = parseToolCallFromText('{"name": "calculator", "arguments": 42}');
  assert.equal(call.name, "calculator");
  assert.equal(call.arguments, 42);
  assert.equal(parseToolCallFromText('{"name": "calculator", "arguments": "42"}').arguments, 42, "as JSON text too");
});

// smolagents: test_models.py::test_get_clean_message_list_basic
Deno.test("test_get_clean_message_list_basic", () => {
  const messages: ChatMessage[] = [
    { role: "user", content: [{ type: "text", text: "Hello!" }] },
    { role: "assistant", content: [{ type: "text", text: "Hi there!" }] },
  ];
  const result = prepareMessages(messages);
  assert.equal(result.length, 2);
  assert.equal(result[0].role, "user");
  assert.deepEqual(result[0].content, [{ type: "text", text: "Hello!" }]);
  assert.equal(result[1].role, "assistant");
  assert.deepEqual(result[1].content, [{ type: "text", text: "Hi there!" }]);
});

// smolagents: test_models.py::test_get_clean_message_list_role_conversions
Deno.test("test_get_clean_message_list_role_conversions", () => {
  const result = prepareMessages([
    { role: "tool-call", content: [{ type: "text", text: "Calling tool..." }] },
    { role: "tool-response", content: [{ type: "text", text: "Tool response" }] },
  ], { customRoleConversions: { "tool-call": "assistant", "tool-response": "user" } });
  assert.deepEqual(result.map((message) => message.role), ["assistant", "user"]);
  assert.deepEqual(result[0].content, [{ type: "text", text: "Calling tool..." }]);
  assert.deepEqual(result[1].content, [{ type: "text", text: "Tool response" }]);
});

// smolagents: test_models.py::test_remove_content_after_stop_sequences
Deno.test("test_remove_content_after_stop_sequences", () => {
  assert.equal(cutAtStopSequences("Hello<code>world!", ["<code>"]), "Hello");
});

// smolagents: test_models.py::test_remove_content_after_stop_sequences_handles_none
Deno.test("test_remove_content_after_stop_sequences_handles_none", () => {
  assert.equal(cutAtStopSequences("Hello world!", undefined), "Hello world!");
});
