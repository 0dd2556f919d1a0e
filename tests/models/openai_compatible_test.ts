import assert from "node:assert/strict";
import type { ChatMessageStreamDelta } from "../../lib/models/chat_message.ts";
import { buildChatRequest, cutStreamAtStopSequences, toChatMessage } from "../../lib/models/openai_compatible.ts";

async function* from(deltas: ChatMessageStreamDelta[]) {
  for (const delta of deltas) yield await Promise.resolve(delta);
}
const cut = (pieces: Array<string | ChatMessageStreamDelta>, stops?: string[]) =>
  Array.fromAsync(cutStreamAtStopSequences(from(pieces.map((p) => typeof p === "string" ? { content: p } : p)), stops));

Deno.test("cutStreamAtStopSequences", async (t) => {
  await t.step("no stop sequences: deltas pass unchanged", async () => {
    assert.deepEqual(await cut(["a", "b"]), [{ content: "a" }, { content: "b" }]);
    assert.deepEqual(await cut(["a"], [""]), [{ content: "a" }]);
  });

  await t.step("a stop inside one chunk", async () => {
    assert.deepEqual(await cut(["Thought: x\nObservation: y", "more"], ["Observation:"]), [{
      content: "Thought: x\n",
    }]);
  });

  await t.step("a stop split across chunks; its beginning is held back until decided", async () => {
    assert.deepEqual(await cut(["abc Obs", "erva", "tion: z"], ["Observation:"]), [{ content: "abc " }]);
  });

  await t.step("held-back text that turns out not to stop is released", async () => {
    assert.deepEqual(await cut(["abc Obs", "cure"], ["Observation:"]), [{ content: "abc " }, { content: "Obscure" }]);
    assert.deepEqual(await cut(["tail Ob"], ["Observation:"]), [{ content: "tail " }, { content: "Ob" }]);
  });

  await t.step("the earliest of several stops wins; tool calls and usage still pass after a stop", async () => {
    const usage = { tokenUsage: { inputTokens: 1, outputTokens: 2 } };
    const call = { toolCalls: [{ index: 0, function: { arguments: "{}" } }] };
    assert.deepEqual(await cut(["a END b STOP", { content: "c", ...call }, usage], ["STOP", "END"]), [
      { content: "a " },
      call,
      usage,
    ]);
  });
});

Deno.test("buildChatRequest and toChatMessage", async (t) => {
  await t.step("omitStop leaves stop out; grammar becomes response_format", () => {
    const body = buildChatRequest(
      [{ role: "user", content: "q" }],
      { stopSequences: ["x"], grammar: { type: "json" } },
      {
        model: "m",
        omitStop: true,
        kwargs: { model: "ignored", seed: 1 },
      },
    );
    assert.deepEqual(body, {
      seed: 1,
      model: "m",
      messages: [{ role: "user", content: "q" }],
      response_format: { type: "json" },
    });
  });

  await t.step("replies: no choice, object arguments, missing ids, non-function tools", () => {
    assert.equal(toChatMessage({ choices: [] }), undefined);
    const reply = toChatMessage({
      choices: [{
        message: {
          content: null,
          tool_calls: [
            { type: "function", function: { name: "f", arguments: { a: 1 } } },
            { id: "c2", type: "custom", function: { name: "g" } },
          ],
        },
      }],
      usage: null,
    });
    assert.deepEqual(reply, {
      role: "assistant",
      content: null,
      toolCalls: [{ id: "call_0", type: "function", function: { name: "f", arguments: { a: 1 } } }],
    });
  });
});
