import assert from "node:assert/strict";
import { ConfigurationError, ModelError } from "../../lib/errors.ts";
import type { ChatMessage, ToolDefinition } from "../../lib/models/chat_message.ts";
import { mergeStreamDeltas } from "../../lib/models/message_utils.ts";
import { OpenAIServerModel, type OpenAIServerModelOptions } from "../../lib/models/openai_server_model.ts";
import type { RetryInfo } from "../../lib/models/retry.ts";
import {
  approxTokens,
  type ScriptedModelServer,
  startScriptedModelServer,
  toolCallReply,
} from "../support/scripted_model_server.ts";
import { runBackendConformance } from "./backend_conformance.ts";

const user = (text: string): ChatMessage => ({ role: "user", content: text });

function modelFor(server: ScriptedModelServer, options: Partial<OpenAIServerModelOptions> = {}) {
  return new OpenAIServerModel({
    modelId: "test-model",
    apiBase: server.url,
    apiKey: "sk-test",
    retry: { baseDelayMs: 1 },
    ...options,
  });
}

const searchTool: ToolDefinition = {
  name: "search",
  description: "Searches the web",
  parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
};

Deno.test("OpenAIServerModel against the scripted server", async (t) => {
  await using server = await startScriptedModelServer();
  const step = (name: string, fn: () => Promise<void>) =>
    t.step(name, async () => {
      server.reset();
      await fn();
      assert.equal(server.pending, 0, "every scripted reply was used");
    });

  await step("a plain reply, with token usage and the API key sent", async () => {
    server.enqueue("Hello there!");
    const reply = await modelFor(server).generate([user("Hi")]);
    assert.deepEqual(reply, {
      role: "assistant",
      content: "Hello there!",
      tokenUsage: { inputTokens: approxTokens("Hi"), outputTokens: approxTokens("Hello there!") },
    });
    assert.equal(server.requests.length, 1);
    assert.equal(server.lastRequest?.path, "/v1/chat/completions");
    assert.equal(server.lastRequest?.headers.authorization, "Bearer sk-test");
  });

  await step("the exact request body", async () => {
    server.enqueue("ok");
    const model = modelFor(server, { kwargs: { temperature: 0.2, max_tokens: 64, model: "ignored" } });
    const responseFormat = { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } };
    await model.generate(
      [
        { role: "system", content: "You are helpful." },
        {
          role: "user",
          content: [{ type: "text", text: "What is this?" }, { type: "image", image: "https://x.test/cat.png" }],
        },
        { role: "tool-call", content: "Calling tools: search" },
        { role: "tool-response", content: "Observation: a cat" },
        { role: "user", content: "Thanks" },
      ],
      { stopSequences: ["Observation:"], tools: [searchTool], toolChoice: "required", responseFormat },
    );
    assert.deepEqual(server.lastRequest?.body, {
      temperature: 0.2,
      max_tokens: 64,
      model: "test-model",
      messages: [
        { role: "system", content: "You are helpful." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "https://x.test/cat.png" } },
          ],
        },
        { role: "assistant", content: "Calling tools: search" },
        { role: "user", content: "Observation: a cat\nThanks" },
      ],
      stop: ["Observation:"],
      response_format: responseFormat,
      tools: [{ type: "function", function: searchTool }],
      tool_choice: "required",
    });
  });

  await step("tool calls come back with parsed arguments", async () => {
    server.enqueue({
      toolCalls: [
        { name: "search", arguments: { q: "deno" }, id: "call_a" },
        { name: "broken", arguments: "{not json" },
      ],
    });
    const reply = await modelFor(server).generate([user("find deno")], { tools: [searchTool] });
    assert.equal(reply.content, null);
    assert.deepEqual(reply.toolCalls, [
      { id: "call_a", type: "function", function: { name: "search", arguments: { q: "deno" } } },
      { id: "call_1", type: "function", function: { name: "broken", arguments: "{not json" } },
    ]);
  });

  await step("stop sequences: sent to the server, and cut client-side where unsupported", async () => {
    server.enqueue("Thought: go\nObservation: fake", "Thought: go\nObservation: fake");
    const stopSequences = ["Observation:"];
    const cut = await modelFor(server).generate([user("q")], { stopSequences });
    assert.equal(cut.content, "Thought: go\n");
    const o3 = await modelFor(server, { modelId: "o3" }).generate([user("q")], { stopSequences });
    assert.equal(server.lastRequest?.body.stop, undefined, "o3 rejects `stop`");
    assert.equal(o3.content, "Thought: go\n");
  });

  await step("streaming text and tool calls", async () => {
    server.enqueue({ content: "Let me search.", toolCalls: [toolCallReply("search", { q: "streams" }).toolCalls![0]] });
    const deltas = [];
    for await (const delta of modelFor(server).generateStream([user("go")], { tools: [searchTool] })) {
      deltas.push(delta);
    }
    assert.equal(server.lastRequest?.body.stream, true);
    assert.deepEqual(server.lastRequest?.body.stream_options, { include_usage: true });
    assert.ok(deltas.filter((d) => d.content).length > 1, "content arrives in several pieces");
    assert.ok(deltas.filter((d) => d.toolCalls).length > 2, "tool call arguments arrive in pieces");
    assert.deepEqual(deltas[deltas.findIndex((d) => d.toolCalls)].toolCalls, [
      { index: 0, id: "call_1", type: "function", function: { name: "search", arguments: "" } },
    ]);
    assert.deepEqual(mergeStreamDeltas(deltas), {
      role: "assistant",
      content: "Let me search.",
      toolCalls: [{ id: "call_1", type: "function", function: { name: "search", arguments: { q: "streams" } } }],
      tokenUsage: {
        inputTokens: approxTokens("go"),
        outputTokens: approxTokens('Let me search.search{"q":"streams"}'),
      },
    });
  });

  await step("streaming retries a failure before the stream starts", async () => {
    server.enqueue({ status: 503 }, "streamed");
    const deltas = await Array.fromAsync(modelFor(server).generateStream([user("go")]));
    assert.equal(mergeStreamDeltas(deltas).content, "streamed");
    assert.equal(server.requests.length, 2);
  });

  await step("429 with Retry-After, then success", async () => {
    server.enqueue({ status: 429, retryAfter: 0 }, "after the wait");
    const retries: RetryInfo[] = [];
    // A 5 s backoff would be used if Retry-After were ignored.
    const model = modelFor(server, { retry: { baseDelayMs: 5_000, random: () => 1, onRetry: (r) => retries.push(r) } });
    const reply = await model.generate([user("q")]);
    assert.equal(reply.content, "after the wait");
    assert.deepEqual(retries.map((r) => [r.attempt, r.status, r.delayMs]), [[1, 429, 0]]);
    assert.equal(server.requests.length, 2, "one retry, ours: the transport adds none");
  });

  await step("500 is retried, then success", async () => {
    server.enqueue({ status: 500 }, { status: 502 }, "recovered");
    const reply = await modelFor(server).generate([user("q")]);
    assert.equal(reply.content, "recovered");
    assert.equal(server.requests.length, 3);
  });

  await step("a persistent 500 becomes a ModelError after the retries", async () => {
    server.enqueue(...Array.from({ length: 3 }, () => ({ status: 500, error: "upstream exploded" })));
    const error = await modelFor(server, { maxRetries: 2 }).generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.equal(error.status, 500);
    assert.equal(error.modelId, "test-model");
    assert.equal(error.retryable, true);
    assert.match(error.message, /test-model/);
    assert.match(error.message, /HTTP 500/);
    assert.match(error.message, /upstream exploded/);
    assert.equal(server.requests.length, 3);
  });

  await step("a 400 is not retried", async () => {
    server.enqueue({ status: 400, error: "bad tool schema" });
    const error = await modelFor(server).generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.equal(error.status, 400);
    assert.equal(error.retryable, false);
    assert.match(error.message, /bad tool schema/);
    assert.equal(server.requests.length, 1);
  });

  await step("a missing API key is a ConfigurationError at the first call", async () => {
    const model = new OpenAIServerModel({ modelId: "test-model", apiBase: server.url });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /apiKey/);
    assert.match(error.message, /OPENAI_API_KEY/);
    await assert.rejects(Array.fromAsync(model.generateStream([user("q")])), ConfigurationError);
    assert.equal(server.requests.length, 0);
  });

  await step("an aborted signal rejects with its reason, without a ModelError", async () => {
    const controller = new AbortController();
    server.setHandler(() => {
      controller.abort(new Error("user cancelled"));
      return { content: "too late", delayMs: 10_000 };
    });
    const model = modelFor(server);
    await assert.rejects(model.generate([user("q")], { signal: controller.signal }), /user cancelled/);
    await assert.rejects(model.generate([user("q")], { signal: controller.signal }), /user cancelled/);
    assert.equal(server.requests.length, 1, "an already aborted signal sends nothing");
  });
});

Deno.test("OpenAIServerModel timeouts", async (t) => {
  await using server = await startScriptedModelServer();

  await t.step("a timed-out attempt is retried", async () => {
    server.enqueue({ content: "slow", delayMs: 10_000 }, "fast");
    const reply = await modelFor(server, { timeoutMs: 400, maxRetries: 1 }).generate([user("q")]);
    assert.equal(reply.content, "fast");
    assert.equal(server.requests.length, 2);
  });

  await t.step("a timeout after the retries is a retryable ModelError", async () => {
    server.reset();
    server.enqueue({ content: "slow", delayMs: 10_000 });
    const error = await modelFor(server, { timeoutMs: 400, maxRetries: 0 }).generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.equal(error.retryable, true);
    assert.equal(error.status, undefined);
    assert.match(error.message, /test-model/);
    assert.match(error.message, /timed out/i);
  });
});

Deno.test("OpenAIServerModel: an unreachable server is a retryable ModelError", async () => {
  const server = await startScriptedModelServer();
  await server.close();
  const model = modelFor(server, { maxRetries: 1 });
  const error = await model.generate([user("q")]).catch((e) => e);
  assert.ok(error instanceof ModelError);
  assert.equal(error.retryable, true);
  assert.match(error.message, /test-model/);
});

Deno.test("OpenAIServerModel: construction", () => {
  assert.throws(() => new OpenAIServerModel({ modelId: "" }), ConfigurationError);
  const model = new OpenAIServerModel({ modelId: "gpt-4o-mini", kwargs: { temperature: 0 } });
  assert.equal(model.modelId, "gpt-4o-mini");
  assert.deepEqual(model.kwargs, { temperature: 0 });
});

Deno.test("OpenAIServerModel: backend conformance", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "test-model",
    create: (options) => modelFor(server, options),
  });
});
