import assert from "node:assert/strict";
import type { ChatMessage } from "../../lib/models/chat_message.ts";
import { type GenerateOptions, type ModelFunction, toModel } from "../../lib/models/model.ts";

const messages: ChatMessage[] = [{ role: "user", content: [{ type: "text", text: "Ok!" }] }];

Deno.test("a custom model function receives stop sequences and constrained-output options", async (t) => {
  await t.step("a string reply, with stopSequences and grammar passed through", async () => {
    const calls: Array<[ChatMessage[], GenerateOptions]> = [];
    const customModel: ModelFunction = (received, options) => {
      calls.push([received, options]);
      return "What a ";
    };
    const grammar = { type: "regex", value: "Thought: .+" };
    const model = toModel(customModel);
    assert.equal(model.modelId, "customModel");
    const reply = await model.generate(messages, { stopSequences: ["great"], grammar });
    assert.deepEqual(reply, { role: "assistant", content: "What a " });
    assert.deepEqual(calls, [[messages, { stopSequences: ["great"], grammar }]]);
  });

  await t.step("an object with content (and usage), responseFormat passed through", async () => {
    const responseFormat = { type: "json_object" };
    let seen: unknown;
    const model = toModel(async (_messages, options) => {
      seen = options.responseFormat;
      return await Promise.resolve({ content: '{"a":1}', tokenUsage: { inputTokens: 3, outputTokens: 4 } });
    });
    const reply = await model.generate(messages, { responseFormat });
    assert.equal(seen, responseFormat);
    assert.equal(reply.content, '{"a":1}');
    assert.deepEqual(reply.tokenUsage, { inputTokens: 3, outputTokens: 4 });
  });
});
