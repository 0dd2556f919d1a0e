import assert from "node:assert/strict";
import type { ChatMessage, ChatMessageStreamDelta } from "../../lib/models/chat_message.ts";
import {
  cutAtStopSequences,
  flattenContent,
  mergeStreamDeltas,
  parseToolCallArguments,
  prepareMessages,
  supportsStopParameter,
  toolRoleConversions,
} from "../../lib/models/message_utils.ts";

const image = { type: "image", image: "data:image/png;base64,AAAA" } as const;

Deno.test("prepareMessages", async (t) => {
  await t.step("converts tool roles to assistant / user by default", () => {
    const out = prepareMessages([
      { role: "system", content: "sys" },
      { role: "tool-call", content: "Calling tools: search" },
      { role: "tool-response", content: "Observation: 42" },
    ]);
    assert.deepEqual(out, [
      { role: "system", content: "sys" },
      { role: "assistant", content: "Calling tools: search" },
      { role: "user", content: "Observation: 42" },
    ]);
    assert.deepEqual(toolRoleConversions, { "tool-call": "assistant", "tool-response": "user" });
  });

  await t.step("custom conversions apply on top of the tool conversions", () => {
    const out = prepareMessages(
      [
        { role: "system", content: "be brief" },
        { role: "tool-call", content: "call" },
        { role: "tool-response", content: "result" },
      ],
      { customRoleConversions: { system: "user", "tool-response": "assistant" } },
    );
    // system -> user; tool-call -> assistant and tool-response -> assistant merge into one message.
    assert.deepEqual(out, [
      { role: "user", content: "be brief" },
      { role: "assistant", content: "call\nresult" },
    ]);
  });

  await t.step("merges consecutive same-role messages, joining adjacent text with a newline", () => {
    const out = prepareMessages([
      { role: "user", content: [{ type: "text", text: "a" }, image] },
      { role: "user", content: [{ type: "text", text: "b" }, { type: "text", text: "c" }] },
      { role: "assistant", content: "x" },
      { role: "tool-call", content: [{ type: "text", text: "y" }] },
    ]);
    assert.deepEqual(out, [
      { role: "user", content: [{ type: "text", text: "a" }, image, { type: "text", text: "b\nc" }] },
      { role: "assistant", content: [{ type: "text", text: "x\ny" }] },
    ]);
  });

  await t.step("does not mutate its input and drops input toolCalls", () => {
    const input: ChatMessage[] = [
      { role: "user", content: [{ type: "text", text: "a" }] },
      { role: "user", content: [{ type: "text", text: "b" }] },
      {
        role: "assistant",
        content: null,
        toolCalls: [{ id: "1", type: "function", function: { name: "f", arguments: {} } }],
      },
    ];
    const snapshot = structuredClone(input);
    const out = prepareMessages(input);
    assert.deepEqual(input, snapshot);
    assert.deepEqual(out, [
      { role: "user", content: [{ type: "text", text: "a\nb" }] },
      { role: "assistant", content: null },
    ]);
  });

  await t.step("null content merges as nothing", () => {
    const out = prepareMessages([{ role: "assistant", content: null }, { role: "assistant", content: "t" }]);
    assert.deepEqual(out, [{ role: "assistant", content: "t" }]);
  });

  await t.step("flattenMessagesAsText turns parts into text and drops images", () => {
    const out = prepareMessages(
      [
        { role: "system", content: [{ type: "text", text: "s1" }, { type: "text", text: "s2" }] },
        { role: "user", content: [image, { type: "text", text: "look" }] },
        { role: "tool-response", content: "obs" },
        { role: "assistant", content: null },
      ],
      { flattenMessagesAsText: true },
    );
    assert.deepEqual(out, [
      { role: "system", content: "s1\ns2" },
      { role: "user", content: "look\nobs" },
      { role: "assistant", content: "" },
    ]);
  });

  await t.step("flattenContent", () => {
    assert.equal(flattenContent(null), "");
    assert.equal(flattenContent("plain"), "plain");
    assert.equal(flattenContent([{ type: "text", text: "a" }, image, { type: "text", text: "b" }]), "a\nb");
  });
});

Deno.test("cutAtStopSequences cuts at the earliest stop", async (t) => {
  await t.step("earliest occurrence wins, whatever the list order", () => {
    assert.equal(
      cutAtStopSequences("Thought: x\nObservation: y\nCalling tools: z", ["Calling tools:", "Observation:"]),
      "Thought: x\n",
    );
  });
  await t.step("no stop, empty list, undefined or empty strings leave the text whole", () => {
    assert.equal(cutAtStopSequences("abc", ["zzz"]), "abc");
    assert.equal(cutAtStopSequences("abc", []), "abc");
    assert.equal(cutAtStopSequences("abc", undefined), "abc");
    assert.equal(cutAtStopSequences("abc", [""]), "abc");
  });
  await t.step("a stop at the very start gives an empty string", () => {
    assert.equal(cutAtStopSequences("</code>rest", ["</code>"]), "");
  });
});

Deno.test("parseToolCallArguments", () => {
  assert.deepEqual(parseToolCallArguments('{"q": "x", "n": 2}'), { q: "x", n: 2 });
  assert.equal(parseToolCallArguments('"quoted"'), "quoted");
  assert.equal(parseToolCallArguments("not json {"), "not json {");
  assert.equal(parseToolCallArguments(""), "");
  const object = { already: "parsed" };
  assert.equal(parseToolCallArguments(object), object);
});

// smolagents' tests/test_models.py `test_supports_stop_parameter`, every case.
Deno.test("supportsStopParameter, as smolagents decides", () => {
  const unsupported = [
    ...["o3", "o4-mini", "gpt-5.1", "gpt-5.2", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-turbo", "gpt-5.2-mini"],
    ...["grok-4", "grok-4-latest", "grok-4.1", "grok-3", "grok-3-mini", "grok-code-fast-1"],
    ...["o4-mini-2025-04-16", "gpt-5-2025-01-01", "openai/o3", "openai/o4-mini", "openai/o3-2025-04-16"],
    ...["openai/o4-mini-2025-04-16", "openai/gpt-5.2", "openai/gpt-5.2-mini", "openai/gpt-5.2-2025-01-01"],
    ...["oci/xai.grok-4", "oci/xai.grok-3-mini", "gpt-5x", "gpt-50"],
  ];
  const supported = [
    ...["o3-mini", "gpt-4", "claude-3-5-sonnet", "mistral-large", "openai/gpt-4", "anthropic/claude-3-5-sonnet"],
    ...["anthropic/claude-opus-4-5", "mistralai/mistral-large", "", "o3x", "o4x", "o3_mini", "prefix-o3"],
  ];
  for (const id of unsupported) assert.equal(supportsStopParameter(id), false, id);
  for (const id of supported) assert.equal(supportsStopParameter(id), true, id);
});

Deno.test("mergeStreamDeltas", async (t) => {
  await t.step("concatenates content and sums usage", () => {
    const deltas: ChatMessageStreamDelta[] = [
      { content: "Hel" },
      { content: "lo" },
      {},
      { tokenUsage: { inputTokens: 10, outputTokens: 2 } },
      { tokenUsage: { inputTokens: 1, outputTokens: 3 } },
    ];
    assert.deepEqual(mergeStreamDeltas(deltas), {
      role: "assistant",
      content: "Hello",
      tokenUsage: { inputTokens: 11, outputTokens: 5 },
    });
  });

  await t.step("merges tool calls by index, in index order, parsing arguments", () => {
    const merged = mergeStreamDeltas([
      { toolCalls: [{ index: 1, id: "b", type: "function", function: { name: "second", arguments: "" } }] },
      { toolCalls: [{ index: 0, id: "a", type: "function", function: { name: "first", arguments: '{"q":' } }] },
      { toolCalls: [{ index: 1, function: { arguments: "not json" } }] },
      { toolCalls: [{ index: 0, id: "ignored", function: { name: "ignored", arguments: ' "x"}' } }] },
    ]);
    assert.equal(merged.content, null);
    assert.equal(merged.tokenUsage, undefined);
    assert.deepEqual(merged.toolCalls, [
      { id: "a", type: "function", function: { name: "first", arguments: { q: "x" } } },
      { id: "b", type: "function", function: { name: "second", arguments: "not json" } },
    ]);
  });

  await t.step("fills a missing id from the index", () => {
    const merged = mergeStreamDeltas([{ toolCalls: [{ index: 3, function: { name: "f", arguments: "{}" } }] }]);
    assert.deepEqual(merged.toolCalls, [{ id: "call_3", type: "function", function: { name: "f", arguments: {} } }]);
  });

  await t.step("no deltas give an empty assistant message", () => {
    assert.deepEqual(mergeStreamDeltas([]), { role: "assistant", content: null });
  });
});
