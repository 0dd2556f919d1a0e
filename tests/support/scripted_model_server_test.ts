import assert from "node:assert/strict";
import { approxTokens, startScriptedModelServer, toolCallReply } from "./scripted_model_server.ts";

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

Deno.test("scripted model server over plain fetch", async (t) => {
  await using server = await startScriptedModelServer({ replies: ["first"], modelId: "my-model" });
  const completions = `${server.url}/chat/completions`;
  const origin = server.url.replace(/\/v1$/, "");

  await t.step("listens on loopback with a /v1 base URL", () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  await t.step("replays the queue in order, then fails loudly", async () => {
    server.enqueue("second");
    assert.equal(server.pending, 2);
    const messages = [{ role: "user", content: "hi there" }];
    const first = await (await post(completions, { model: "m", messages })).json();
    assert.equal(first.object, "chat.completion");
    assert.equal(first.model, "m");
    assert.deepEqual(first.choices[0].message, { role: "assistant", content: "first" });
    assert.equal(first.choices[0].finish_reason, "stop");
    assert.deepEqual(first.usage, {
      prompt_tokens: approxTokens("hi there"),
      completion_tokens: approxTokens("first"),
      total_tokens: approxTokens("hi there") + approxTokens("first"),
    });
    // The path without /v1 works too.
    const second = await (await post(`${origin}/chat/completions`, { messages })).json();
    assert.equal(second.choices[0].message.content, "second");
    const empty = await post(completions, { messages });
    assert.equal(empty.status, 500);
    assert.match((await empty.json()).error.message, /scripted model server: no reply left/);
    assert.deepEqual(server.requests.map((r) => r.path), [
      "/v1/chat/completions",
      "/chat/completions",
      "/v1/chat/completions",
    ]);
    assert.equal(server.requests[0].headers["content-type"], "application/json");
    assert.deepEqual(server.requests[0].body, { model: "m", messages });
  });

  await t.step("lists the model", async () => {
    const list = await (await fetch(`${server.url}/models`)).json();
    assert.equal(list.data[0].id, "my-model");
  });

  await t.step("error replies carry an OpenAI-style body and Retry-After", async () => {
    server.reset();
    server.enqueue({ status: 429, retryAfter: 3, error: "slow down" });
    const response = await post(completions, { messages: [] });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "3");
    assert.equal((await response.json()).error.message, "slow down");
  });

  await t.step("unknown routes and bad JSON", async () => {
    const missing = await fetch(`${server.url}/embeddings`, { method: "POST", body: "{}" });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const bad = await fetch(completions, { method: "POST", body: "{nope" });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });

  await t.step("honours stop like a real server", async () => {
    server.enqueue("alpha STOP beta END gamma");
    const body = await (await post(completions, { messages: [], stop: ["END", "STOP"] })).json();
    assert.equal(body.choices[0].message.content, "alpha ");
    server.enqueue("one two");
    const single = await (await post(completions, { messages: [], stop: "two" })).json();
    assert.equal(single.choices[0].message.content, "one ");
  });

  await t.step("tool calls get ids and JSON arguments", async () => {
    server.reset();
    server.enqueue(toolCallReply("search", { q: "x" }), toolCallReply("other", "raw", "mine"));
    const a = await (await post(completions, { messages: [] })).json();
    assert.equal(a.choices[0].finish_reason, "tool_calls");
    assert.equal(a.choices[0].message.content, null);
    assert.deepEqual(a.choices[0].message.tool_calls, [
      { id: "call_1", type: "function", function: { name: "search", arguments: '{"q":"x"}' } },
    ]);
    const b = await (await post(completions, { messages: [] })).json();
    assert.deepEqual(b.choices[0].message.tool_calls[0].function, { name: "other", arguments: "raw" });
    assert.equal(b.choices[0].message.tool_calls[0].id, "mine");
  });

  await t.step("a handler answers once the queue is empty", async () => {
    server.enqueue("queued");
    server.setHandler((request) => `echo: ${request.body.messages?.at(-1)?.content}`);
    const messages = [{ role: "user", content: "ping" }];
    const queued = await (await post(completions, { messages })).json();
    const echoed = await (await post(completions, { messages })).json();
    assert.equal(queued.choices[0].message.content, "queued");
    assert.equal(echoed.choices[0].message.content, "echo: ping");
    server.setHandler(undefined);
  });

  await t.step("streams SSE chunks, usage and [DONE]", async () => {
    server.enqueue({ content: "abcdef", toolCalls: [{ name: "f", arguments: { a: 1 } }] });
    const response = await post(completions, {
      messages: [],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const events = (await response.text()).split("\n\n").filter(Boolean);
    assert.equal(events.at(-1), "data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    const deltas = chunks.flatMap((c) => c.choices.map((choice: { delta: unknown }) => choice.delta));
    const text = deltas.map((d) => d.content ?? "").join("");
    assert.equal(text, "abcdef");
    assert.equal(deltas.filter((d) => d.content).length, 3);
    const calls = deltas.flatMap((d) => d.tool_calls ?? []);
    assert.deepEqual(calls[0], { index: 0, id: "call_2", type: "function", function: { name: "f", arguments: "" } });
    assert.equal(calls.map((c) => c.function.arguments).join(""), '{"a":1}');
    assert.equal(chunks.at(-2).choices[0].finish_reason, "tool_calls");
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.equal(chunks.at(-1).usage.completion_tokens, approxTokens('abcdeff{"a":1}'));
  });

  await t.step("close ends a delayed reply at once", async () => {
    const other = await startScriptedModelServer({ replies: [{ content: "late", delayMs: 60_000 }] });
    const pending = post(`${other.url}/chat/completions`, { messages: [] });
    while (other.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    await other.close();
    const response = await pending;
    assert.equal(response.status, 503);
    await response.body?.cancel();
    assert.ok(performance.now() - started < 5_000);
  });
});
