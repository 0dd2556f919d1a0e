import assert from "node:assert/strict";
import { ModelError } from "../../lib/errors.ts";
import { ChatCompletionsModel, type StreamingChatRequestBody } from "../../lib/models/chat_completions_model.ts";
import type { ChatMessage } from "../../lib/models/chat_message.ts";
import { InferenceClientModel } from "../../lib/models/inference_client_model.ts";
import { mergeStreamDeltas } from "../../lib/models/message_utils.ts";
import type { ChatRequestBody, WireChunk, WireCompletion } from "../../lib/models/openai_compatible.ts";
import { OpenAIClientModel } from "../../lib/models/openai_client_model.ts";
import { OpenAIServerModel } from "../../lib/models/openai_server_model.ts";
import type { RemoteModelOptions } from "../../lib/models/request_runner.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { runBackendConformance } from "./backend_conformance.ts";

/** An HTTP failure as `defaultClassify` reads it. */
class HttpError extends Error {
  constructor(readonly status: number, readonly headers: Headers, readonly body: unknown) {
    super(`HTTP ${status}`);
  }
}

/**
 * The smallest backend the base allows: `fetch` and an SSE reader, nothing else. Everything the conformance suite
 * checks (request shape, replies, streams, retries, errors, timeouts, aborts) comes from `ChatCompletionsModel`.
 */
class FetchChatModel extends ChatCompletionsModel {
  /** The signals `openStream` was given, to see them abort. */
  readonly streamSignals: AbortSignal[] = [];
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: RemoteModelOptions & { modelId: string; url: string }) {
    super({
      ...options,
      label: "FetchChatModel",
      detail: (error) => ((error as HttpError).body as { error?: { message?: string } })?.error?.message,
    });
    this.#url = `${options.url}/chat/completions`;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  protected async sendRequest(body: ChatRequestBody, signal: AbortSignal | undefined): Promise<WireCompletion> {
    return await (await this.#post(body, signal)).json();
  }

  protected async openStream(
    body: StreamingChatRequestBody,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<WireChunk>> {
    if (signal) this.streamSignals.push(signal);
    const response = await this.#post(body, signal);
    return (async function* () {
      const text = response.body!.pipeThrough(new TextDecoderStream());
      let buffer = "";
      for await (const piece of text) {
        buffer += piece;
        const events = buffer.split("\n\n");
        buffer = events.pop()!;
        for (const event of events) {
          const data = event.replace(/^data: /, "");
          if (data !== "[DONE]") yield JSON.parse(data) as WireChunk;
        }
      }
    })();
  }

  async #post(body: unknown, signal: AbortSignal | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const response = await fetch(this.#url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!response.ok) throw new HttpError(response.status, response.headers, await response.json());
    return response;
  }
}

const user = (text: string): ChatMessage => ({ role: "user", content: text });

Deno.test("ChatCompletionsModel: a backend that only sends passes the backend conformance suite", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "fetch-model",
    create: (options) => new FetchChatModel({ ...options, modelId: "fetch-model", url: server.url }),
  });
});

Deno.test("ChatCompletionsModel: what the base decides for every backend", async (t) => {
  await using server = await startScriptedModelServer();
  const create = (modelId: string, options: RemoteModelOptions = {}) =>
    new FetchChatModel({ retry: { baseDelayMs: 1 }, ...options, modelId, url: server.url });
  const step = (name: string, fn: () => Promise<void>) =>
    t.step(name, async () => {
      server.reset();
      await fn();
    });

  await step("stop is sent where supportsStopParameter allows it, and cut client-side where it does not", async () => {
    for (const [modelId, sent] of [["gpt-4o", true], ["gpt-5-mini", false], ["xai/grok-4", false]] as const) {
      server.enqueue({ content: "answer Observation: invented", ignoreStop: true });
      const reply = await create(modelId).generate([user("q")], { stopSequences: ["Observation:"] });
      assert.equal("stop" in server.lastRequest!.body, sent, modelId);
      assert.equal(reply.content, "answer ", modelId);
    }
  });

  await step("tools, tool_choice and response_format in the body; calls and usage in the reply", async () => {
    server.enqueue({
      ...toolCallReply("search", { q: "x" }, "call_7"),
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    });
    const parameters = { type: "object", properties: { q: { type: "string" } } };
    const reply = await create("m", { kwargs: { temperature: 0 } }).generate([user("q")], {
      tools: [{ name: "search", description: "Searches", parameters }],
      toolChoice: "required",
      responseFormat: { type: "json_object" },
    });
    const body = server.lastRequest!.body;
    assert.deepEqual(body.tools, [{
      type: "function",
      function: { name: "search", description: "Searches", parameters },
    }]);
    assert.deepEqual([body.tool_choice, body.response_format, body.temperature], [
      "required",
      { type: "json_object" },
      0,
    ]);
    assert.deepEqual(reply, {
      role: "assistant",
      content: null,
      toolCalls: [{ id: "call_7", type: "function", function: { name: "search", arguments: { q: "x" } } }],
      tokenUsage: { inputTokens: 5, outputTokens: 2 },
    });
  });

  await step("a reply without choices is a ModelError naming the backend and model, not retried", async () => {
    const model = new (class extends FetchChatModel {
      protected override sendRequest(): Promise<WireCompletion> {
        return Promise.resolve({ choices: [] });
      }
    })({ modelId: "empty", url: server.url });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.equal(error.message, 'FetchChatModel "empty": the reply has no choices');
    assert.equal(error.retryable, false);
  });

  await step("the backend's detail hook gives the server's message", async () => {
    server.enqueue({ status: 422, error: "messages[0] is invalid" });
    const error = await create("m").generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.equal(error.message, 'FetchChatModel "m": request failed with HTTP 422: messages[0] is invalid');
  });

  await step("a consumer that stops reading a stream aborts the signal the backend opened it with", async () => {
    server.enqueue("a fairly long streamed reply in several pieces");
    const model = create("m");
    for await (const delta of model.generateStream([user("q")])) {
      assert.ok(delta.content);
      break;
    }
    assert.equal(model.streamSignals.length, 1);
    assert.equal(model.streamSignals[0].aborted, true);
  });
});

Deno.test("OpenAIClientModel and InferenceClientModel share the base: same body, same reply", async () => {
  await using server: ScriptedModelServer = await startScriptedModelServer();
  const openai = new OpenAIServerModel({ modelId: "org/model", apiBase: server.url, apiKey: "k" });
  const hf = new InferenceClientModel({ modelId: "org/model", baseUrl: server.url, token: "hf_x" });
  assert.ok(openai instanceof OpenAIClientModel && openai instanceof ChatCompletionsModel);
  assert.ok(hf instanceof ChatCompletionsModel);
  const messages: ChatMessage[] = [
    { role: "system", content: "sys" },
    { role: "tool-call", content: "Calling tools: x" },
    { role: "tool-response", content: "Observation: 1" },
  ];
  const options = { stopSequences: ["Observation:"], tools: [{ name: "t", description: "d", parameters: {} }] };
  const bodies = [];
  const replies = [];
  for (const model of [openai, hf]) {
    server.enqueue({ ...toolCallReply("t", { a: 1 }, "call_1"), content: "thinking" });
    replies.push(await model.generate(messages, options));
    bodies.push(server.lastRequest!.body);
    server.enqueue({ ...toolCallReply("t", { a: 1 }, "call_1"), content: "thinking" });
    const streamed = mergeStreamDeltas(await Array.fromAsync(model.generateStream(messages, options)));
    assert.deepEqual(streamed, replies.at(-1));
  }
  const { stream: _s, stream_options: _o, ...streamless } = bodies[1];
  assert.deepEqual(streamless, bodies[0]);
  assert.deepEqual(replies[1], replies[0]);
  assert.deepEqual(bodies[0].messages, [
    { role: "system", content: "sys" },
    { role: "assistant", content: "Calling tools: x" },
    { role: "user", content: "Observation: 1" },
  ]);
});
