/**
 * The one conformance suite every remote model backend passes, against a real scripted server on loopback:
 *
 *   Deno.test("MyModel", (t) => runBackendConformance(t, { server, expectedModel, create: (o) => new MyModel(o) }));
 *
 * Backend-specific facts (URLs, headers, auth, defaults) are asserted in each backend's own test file.
 */

import assert from "node:assert/strict";
import type { ChatMessage, ToolDefinition } from "../../lib/models/chat_message.ts";
import { mergeStreamDeltas, type RoleConversions } from "../../lib/models/message_utils.ts";
import type { Model } from "../../lib/models/model.ts";
import type { RetryInfo } from "../../lib/models/retry.ts";
import type { RemoteModelOptions } from "../../lib/models/request_runner.ts";
import { ModelError } from "../../lib/errors.ts";
import { approxTokens, type ScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/** The options every backend accepts; the suite passes them through `create`. */
export interface BackendOptions {
  customRoleConversions?: RoleConversions;
  flattenMessagesAsText?: boolean;
  requestsPerMinute?: number;
  maxRetries?: number;
  retry?: RemoteModelOptions["retry"];
  timeoutMs?: number;
  kwargs?: Record<string, unknown>;
}

export interface BackendUnderTest {
  /** The scripted server this backend's completions reach. */
  server: ScriptedModelServer;
  /** A model of the backend, with these options on top of its settings. */
  create(options: BackendOptions): Model;
  /** The `model` field the backend sends. */
  expectedModel: string;
  /** The backend always sends plain text (MLX). */
  alwaysFlattens?: boolean;
}

const user = (text: string): ChatMessage => ({ role: "user", content: text });
const searchTool: ToolDefinition = {
  name: "search",
  description: "Searches the web",
  parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
};

export async function runBackendConformance(t: Deno.TestContext, backend: BackendUnderTest): Promise<void> {
  const { server, expectedModel } = backend;
  const create = (options: BackendOptions = {}) =>
    backend.create({ ...options, retry: { baseDelayMs: 1, ...options.retry } });
  const step = (name: string, fn: () => Promise<void>) =>
    t.step(name, async () => {
      server.reset();
      await fn();
      assert.equal(server.pending, 0, "every scripted reply was used");
    });
  const body = () => server.lastRequest!.body;

  await step("a plain reply with token usage", async () => {
    server.enqueue("Hello there!");
    const reply = await create().generate([user("Hi")]);
    assert.deepEqual(reply, {
      role: "assistant",
      content: "Hello there!",
      tokenUsage: { inputTokens: approxTokens("Hi"), outputTokens: approxTokens("Hello there!") },
    });
    assert.equal(server.requests.filter((r) => r.method === "POST").length, 1);
    assert.equal(body().model, expectedModel);
    assert.equal(body().stream, undefined);
  });

  await step("tool roles, customRoleConversions and kwargs", async () => {
    server.enqueue("ok");
    const model = create({ customRoleConversions: { system: "user" }, kwargs: { temperature: 0.2, max_tokens: 64 } });
    await model.generate([
      { role: "system", content: "rules" },
      user("question"),
      { role: "tool-call", content: "Calling tools: search" },
      { role: "tool-response", content: "Observation: found" },
      user("thanks"),
    ]);
    assert.deepEqual(body().messages, [
      { role: "user", content: "rules\nquestion" },
      { role: "assistant", content: "Calling tools: search" },
      { role: "user", content: "Observation: found\nthanks" },
    ]);
    assert.equal(body().temperature, 0.2);
    assert.equal(body().max_tokens, 64);
  });

  await step("image parts", async () => {
    server.enqueue("a cat");
    const content = [{ type: "text" as const, text: "What is this?" }, { type: "image" as const, image: "data:," }];
    await create().generate([{ role: "user", content }]);
    assert.deepEqual(
      body().messages,
      backend.alwaysFlattens ? [{ role: "user", content: "What is this?" }] : [{
        role: "user",
        content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:," } }],
      }],
    );
  });

  await step("flattenMessagesAsText sends plain strings", async () => {
    server.enqueue("ok");
    await create({ flattenMessagesAsText: true }).generate([
      { role: "system", content: [{ type: "text", text: "sys" }] },
      {
        role: "user",
        content: [{ type: "text", text: "a" }, { type: "image", image: "data:," }, { type: "text", text: "b" }],
      },
    ]);
    assert.deepEqual(body().messages, [{ role: "system", content: "sys" }, { role: "user", content: "a\nb" }]);
  });

  await step("stop sequences are sent, and applied client-side when the server ignores them", async () => {
    server.enqueue({ content: "Thought: go\nObservation: fake", ignoreStop: true });
    const reply = await create().generate([user("q")], { stopSequences: ["Observation:"] });
    assert.deepEqual(body().stop, ["Observation:"]);
    assert.equal(reply.content, "Thought: go\n");
  });

  await step("native tool calls: tools sent, calls parsed", async () => {
    server.enqueue({
      toolCalls: [{ name: "search", arguments: { q: "deno" }, id: "call_a" }, { name: "broken", arguments: "{x" }],
    });
    const reply = await create().generate([user("find")], { tools: [searchTool], toolChoice: "required" });
    assert.deepEqual(body().tools, [{ type: "function", function: searchTool }]);
    assert.equal(body().tool_choice, "required");
    assert.equal(reply.content, null);
    assert.deepEqual(reply.toolCalls, [
      { id: "call_a", type: "function", function: { name: "search", arguments: { q: "deno" } } },
      { id: "call_1", type: "function", function: { name: "broken", arguments: "{x" } },
    ]);
  });

  await step("usage reported by the server", async () => {
    server.enqueue({ content: "x", usage: { prompt_tokens: 123, completion_tokens: 45 } });
    const reply = await create().generate([user("Hi")]);
    assert.deepEqual(reply.tokenUsage, { inputTokens: 123, outputTokens: 45 });
  });

  await step("responseFormat, and grammar, are sent as response_format", async () => {
    server.enqueue("{}", "42");
    const responseFormat = { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } };
    await create().generate([user("q")], { responseFormat, grammar: { type: "regex", value: "ignored" } });
    assert.deepEqual(body().response_format, responseFormat);
    const grammar = { type: "regex", value: "\\d+" };
    await create().generate([user("q")], { grammar });
    assert.deepEqual(body().response_format, grammar);
  });

  await step("streaming: content pieces, tool calls merged by index, usage", async () => {
    server.enqueue({ content: "Let me search.", toolCalls: [toolCallReply("search", { q: "streams" }).toolCalls![0]] });
    const model = create();
    const deltas = await Array.fromAsync(model.generateStream!([user("go")], { tools: [searchTool] }));
    assert.equal(body().stream, true);
    assert.deepEqual(body().stream_options, { include_usage: true });
    assert.ok(deltas.filter((d) => d.content).length > 1, "content arrives in pieces");
    assert.ok(deltas.filter((d) => d.toolCalls).length > 2, "arguments arrive in pieces");
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

  await step("streaming applies stop sequences split across chunks", async () => {
    server.enqueue({ content: "Thought: go\nObservation: fake", ignoreStop: true });
    const deltas = await Array.fromAsync(create().generateStream!([user("q")], { stopSequences: ["Observation:"] }));
    assert.equal(mergeStreamDeltas(deltas).content, "Thought: go\n");
    assert.ok(deltas.some((d) => d.tokenUsage), "usage still arrives after the stop");
  });

  await step("429 with Retry-After, then success", async () => {
    server.enqueue({ status: 429, retryAfter: 0 }, "after the wait");
    const retries: RetryInfo[] = [];
    // A 5 s backoff would be used if Retry-After were ignored.
    const model = create({ retry: { baseDelayMs: 5_000, random: () => 1, onRetry: (r) => retries.push(r) } });
    assert.equal((await model.generate([user("q")])).content, "after the wait");
    assert.deepEqual(retries.map((r) => [r.attempt, r.status, r.delayMs]), [[1, 429, 0]]);
  });

  await step("5xx is retried, in calls and when opening a stream", async () => {
    server.enqueue({ status: 500 }, { status: 502 }, "recovered", { status: 503 }, "streamed");
    const model = create();
    assert.equal((await model.generate([user("q")])).content, "recovered");
    const deltas = await Array.fromAsync(model.generateStream!([user("q")]));
    assert.equal(mergeStreamDeltas(deltas).content, "streamed");
    assert.equal(server.requests.filter((r) => r.method === "POST").length, 5);
  });

  await step("a persistent 500 becomes a ModelError naming model, status and message", async () => {
    server.enqueue(...Array.from({ length: 3 }, () => ({ status: 500, error: "upstream exploded" })));
    const model = create({ maxRetries: 2 });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.equal(error.status, 500);
    assert.equal(error.modelId, model.modelId);
    assert.equal(error.retryable, true);
    assert.ok(error.message.includes(`"${model.modelId}"`), error.message);
    assert.match(error.message, /HTTP 500: upstream exploded/);
    assert.equal(server.requests.filter((r) => r.method === "POST").length, 3);
  });

  await step("a 400 is not retried", async () => {
    server.enqueue({ status: 400, error: "bad tool schema" });
    const error = await create().generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.deepEqual([error.status, error.retryable], [400, false]);
    assert.match(error.message, /bad tool schema/);
  });

  await step("a timed-out attempt is retried", async () => {
    server.enqueue({ content: "slow", delayMs: 10_000 }, "fast");
    const reply = await create({ timeoutMs: 300, maxRetries: 1 }).generate([user("q")]);
    assert.equal(reply.content, "fast");
  });

  await step("requestsPerMinute spaces the calls", async () => {
    server.enqueue("1", "2", "3");
    const model = create({ requestsPerMinute: 1_200 }); // 50 ms apart
    const started = performance.now();
    for (let i = 0; i < 3; i++) await model.generate([user("q")]);
    assert.ok(performance.now() - started >= 95);
  });

  await step("aborting rejects with the signal's reason; an aborted signal sends nothing", async () => {
    const controller = new AbortController();
    server.setHandler(() => {
      controller.abort(new Error("user cancelled"));
      return { content: "too late", delayMs: 10_000 };
    });
    const model = create();
    const { signal } = controller;
    await assert.rejects(model.generate([user("q")], { signal }), /user cancelled/);
    await assert.rejects(model.generate([user("q")], { signal }), /user cancelled/);
    await assert.rejects(Array.fromAsync(model.generateStream!([user("q")], { signal })), /user cancelled/);
    assert.equal(server.requests.length, 1);
  });
}
