/**
 * The OpenAI-compatible endpoint driven by the official `openai` client, against the real app over loopback with
 * Deno KV, both ways a run is taken: stepped by the request (no queue) and as a background run the request follows.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { z } from "zod";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { OpenAIServerModel, tool, ToolCallingAgent, UserInputTool } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep } from "../../lib/server.ts";
import { CONTEXT_HEADING, REQUEST_HEADING } from "../../lib/http/openai_chat_task.ts";
import { serveBackground } from "../support/background_app.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const API_KEY = "chat-key";
const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

const add = tool({
  name: "add",
  description: "Adds two numbers.",
  inputs: z.object({ a: z.number(), b: z.number() }),
  run: ({ a, b }) => String(a + b),
});

function agents(modelUrl: string) {
  const model = new OpenAIServerModel({ modelId: "m", apiBase: modelUrl, apiKey: "k", maxRetries: 0 });
  return {
    assistant: new ToolCallingAgent({ name: "assistant", model, tools: [add], maxSteps: 4 }),
    brief: new ToolCallingAgent({ name: "brief", model, tools: [add], maxSteps: 1 }),
    asker: new ToolCallingAgent({ name: "asker", model, tools: [new UserInputTool()] }),
  };
}

/** The app over loopback on Deno KV: `inline` (no queue: the request steps the run) or `background`. */
async function serve(mode: "inline" | "background", model: ScriptedModelServer) {
  const kv = await Deno.openKv(":memory:");
  const options: Omit<AppOptions, "queue"> = {
    agents: agents(model.url),
    store: new DenoKvStore(kv),
    apiKeys: [API_KEY],
    events: { pollMs: 20, keepAliveMs: 25 },
    maxAttempts: 1,
    // Steps get 900 ms (a slow reply below takes 120 ms); the watchdog copies come 2 s after a step.
    lockTtlMs: 1000,
  };
  if (mode === "background") {
    const served = serveBackground(options);
    return { url: served.url, close: async () => (await served.close(), kv.close()) };
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createSmolstep(options).app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: async () => (await server.shutdown(), kv.close()) };
}

const textOfMessages = (messages: Array<{ content: unknown }> | undefined) =>
  (messages ?? []).map((m) => typeof m.content === "string" ? m.content : JSON.stringify(m.content)).join("\n");

for (const mode of ["inline", "background"] as const) {
  Deno.test(`OpenAI-compatible endpoint (${mode}), through the official openai client`, async (t) => {
    const model = await startScriptedModelServer();
    const app = await serve(mode, model);
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const api = apiClient(app.url, { apiKey: API_KEY });
    try {
      await t.step("models: the agents, one by id, 404 model_not_found otherwise", async () => {
        const list = await client.models.list();
        assert.deepEqual(list.data.map((m) => [m.id, m.object, m.owned_by]), [
          ["assistant", "model", "smolstep"],
          ["brief", "model", "smolstep"],
          ["asker", "model", "smolstep"],
        ]);
        assert.equal(typeof list.data[0].created, "number");
        assert.equal((await client.models.retrieve("brief")).id, "brief");
        const missing = await client.models.retrieve("nobody").catch((e) => e);
        assert.ok(missing instanceof OpenAI.NotFoundError, String(missing));
        assert.equal(missing.code, "model_not_found");
        assert.equal(missing.type, "not_found_error");
      });

      await t.step("a tool-calling run to its answer: content, usage summed, the run id, context", async () => {
        model.reset();
        model.enqueue(
          { ...toolCallReply("add", { a: 2, b: 3 }), usage: { prompt_tokens: 10, completion_tokens: 3 } },
          { ...toolCallReply("final_answer", { answer: "5" }), usage: { prompt_tokens: 20, completion_tokens: 4 } },
        );
        const { data, response } = await client.chat.completions.create({
          model: "assistant",
          messages: [
            { role: "system", content: "Be terse." },
            { role: "user", content: "I have two numbers." },
            { role: "assistant", content: "Which ones?" },
            { role: "user", content: [{ type: "text", text: "Add 2 and 3." }] },
          ],
          temperature: 0.2,
        }).withResponse();
        assert.equal(data.object, "chat.completion");
        assert.equal(data.model, "assistant");
        assert.equal(data.choices[0].message.role, "assistant");
        assert.equal(data.choices[0].message.content, "5");
        assert.equal(data.choices[0].finish_reason, "stop");
        assert.deepEqual(data.usage, { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 });
        const runId = response.headers.get("X-Smolstep-Run-Id");
        assert.ok(runId);
        assert.equal(data.id, `chatcmpl-${runId}`);
        const run = await api.get(`/v1/runs/${runId}`);
        assert.equal(run.status, 200);
        assert.equal(run.body.status, "succeeded");
        assert.equal(run.body.background, mode === "background");
        assert.equal(run.body.stepNumber, 2);
        // The task: the earlier messages as context, then the request.
        assert.equal(
          run.body.task,
          `${CONTEXT_HEADING}\n\n[system]\nBe terse.\n\n[user]\nI have two numbers.\n\n[assistant]\nWhich ones?\n\n` +
            `${REQUEST_HEADING}\nAdd 2 and 3.`,
        );
        const prompt = textOfMessages(model.requests[0].body.messages);
        assert.ok(prompt.includes("Which ones?") && prompt.includes("Add 2 and 3."), prompt);
        assert.ok(textOfMessages(model.requests[1].body.messages).includes("5"), "the observation reached the model");
      });

      await t.step(
        "streaming: progress as reasoning_content, the answer as content, finish, usage, [DONE]",
        async () => {
          model.reset();
          model.enqueue(
            { ...toolCallReply("add", { a: 40, b: 2 }), usage: { prompt_tokens: 7, completion_tokens: 2 } },
            { ...toolCallReply("final_answer", { answer: "42" }), usage: { prompt_tokens: 9, completion_tokens: 1 } },
          );
          const { data: stream, response } = await client.chat.completions.create({
            model: "assistant",
            messages: [{ role: "user", content: "What is 40 + 2?" }],
            stream: true,
            stream_options: { include_usage: true },
          }).withResponse();
          assert.equal(response.headers.get("Content-Type"), "text/event-stream");
          const runId = response.headers.get("X-Smolstep-Run-Id");
          assert.ok(runId);
          let reasoning = "";
          let content = "";
          const finishes: string[] = [];
          let usage: OpenAI.CompletionUsage | undefined;
          let contentBeforeReasoningEnded = false;
          for await (const chunk of stream) {
            assert.equal(chunk.object, "chat.completion.chunk");
            assert.equal(chunk.id, `chatcmpl-${runId}`);
            if (chunk.usage) usage = chunk.usage;
            const choice = chunk.choices[0];
            if (!choice) continue;
            const delta = choice.delta as { content?: string; reasoning_content?: string };
            if (delta.reasoning_content) {
              if (content) contentBeforeReasoningEnded = true;
              reasoning += delta.reasoning_content;
            }
            if (delta.content) content += delta.content;
            if (choice.finish_reason) finishes.push(choice.finish_reason);
          }
          assert.equal(content, "42");
          assert.deepEqual(finishes, ["stop"]);
          assert.deepEqual(usage, { prompt_tokens: 16, completion_tokens: 3, total_tokens: 19 });
          assert.equal(contentBeforeReasoningEnded, false, "the answer comes after the progress");
          assert.match(reasoning, /\*\*Step 1\*\*/);
          assert.match(reasoning, /Calling `add` \{"a":40,"b":2\}/);
          assert.match(reasoning, /Observation: 42/);
          assert.equal((await api.get(`/v1/runs/${runId}`)).body.status, "succeeded");
        },
      );

      await t.step("a raw stream ends with data: [DONE], and no usage chunk unless asked", async () => {
        model.reset();
        model.enqueue(toolCallReply("final_answer", { answer: "hi" }));
        const response = await fetch(`${app.url}/v1/chat/completions`, {
          method: "POST",
          headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
          body: JSON.stringify({ model: "assistant", messages: [{ role: "user", content: "hi" }], stream: true }),
        });
        // Comment lines (keep-alives, here every 25 ms) aside.
        const events = (await response.text()).split("\n\n").filter((e) => e && !e.startsWith(":"));
        assert.equal(events.at(-1), "data: [DONE]");
        const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
        assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
        assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
        assert.ok(chunks.every((c) => c.usage === undefined));
      });

      await t.step("a slow step: keep-alive comments, which the openai client skips", async () => {
        model.reset();
        model.enqueue({ ...toolCallReply("final_answer", { answer: "slow" }), delayMs: 120 });
        const response = await fetch(`${app.url}/v1/chat/completions`, {
          method: "POST",
          headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
          body: JSON.stringify({ model: "assistant", messages: [{ role: "user", content: "slowly" }], stream: true }),
        });
        const text = await response.text();
        assert.match(text, /^: keepalive$/m);
        assert.match(text, /data: \[DONE\]\n\n$/);

        model.enqueue({ ...toolCallReply("final_answer", { answer: "slow too" }), delayMs: 120 });
        const stream = await client.chat.completions.create({
          model: "assistant",
          messages: [{ role: "user", content: "slowly" }],
          stream: true,
        });
        let content = "";
        for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
        assert.equal(content, "slow too");
      });

      await t.step("out of steps: the max-steps answer, finish_reason length", async () => {
        model.reset();
        model.enqueue(toolCallReply("add", { a: 1, b: 1 }), "Probably 2.");
        const completion = await client.chat.completions.create({
          model: "brief",
          messages: [{ role: "user", content: "1 + 1, step by step" }],
        });
        assert.equal(completion.choices[0].message.content, "Probably 2.");
        assert.equal(completion.choices[0].finish_reason, "length");
      });

      await t.step("images: a data: URL part becomes the run's image", async () => {
        model.reset();
        model.enqueue(toolCallReply("final_answer", { answer: "a pixel" }));
        const completion = await client.chat.completions.create({
          model: "assistant",
          messages: [{
            role: "user",
            content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: PNG } }],
          }],
        });
        assert.equal(completion.choices[0].message.content, "a pixel");
        assert.ok(JSON.stringify(model.requests[0].body.messages).includes(PNG), "the image reached the model");
      });

      await t.step("a model that fails: an OpenAI-shaped error, not retried by the client", async () => {
        model.reset();
        model.enqueue({ status: 400, error: "bad request to the model" });
        const retrying = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 2 });
        const failed = await retrying.chat.completions.create({
          model: "assistant",
          messages: [{ role: "user", content: "fail please" }],
        }).catch((e) => e);
        assert.ok(failed instanceof OpenAI.APIError, String(failed));
        assert.equal(failed.status, 502);
        // Inline: the step's error (the run stays at its last step); background: the run ended failed.
        assert.equal(failed.code, mode === "inline" ? "model_error" : "run_failed");
        assert.equal(failed.type, "server_error");
        assert.equal(model.requests.length, 1, "x-should-retry: false: no second run");
        const runId = failed.headers.get("X-Smolstep-Run-Id");
        const run = await api.get(`/v1/runs/${runId}`);
        assert.equal(run.body.status, mode === "inline" ? "running" : "failed");

        model.enqueue({ status: 400, error: "bad request to the model" });
        const stream = await client.chat.completions.create({
          model: "assistant",
          messages: [{ role: "user", content: "fail while streaming" }],
          stream: true,
        });
        const streamed = await (async () => {
          for await (const _ of stream) { /* the error comes as a data: line */ }
        })().catch((e) => e);
        assert.ok(streamed instanceof OpenAI.APIError, String(streamed));
        assert.equal(streamed.code, mode === "inline" ? "model_error" : "run_failed");
      });

      await t.step("a run that pauses for input: 409 awaiting_input naming the run's input route", async () => {
        model.reset();
        model.enqueue(toolCallReply("user_input", { question: "Which city?" }));
        const retrying = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 2 });
        const paused = await retrying.chat.completions.create({
          model: "asker",
          messages: [{ role: "user", content: "Weather?" }],
        }).catch((e) => e);
        assert.ok(paused instanceof OpenAI.ConflictError, String(paused));
        assert.equal(paused.code, "awaiting_input");
        const runId = paused.headers.get("X-Smolstep-Run-Id");
        assert.ok(paused.message.includes(`/v1/runs/${runId}/input`), paused.message);
        assert.equal(model.requests.length, 1, "not retried");
        const run = await api.get(`/v1/runs/${runId}`);
        assert.equal(run.body.status, "awaiting_input");
        assert.equal(run.body.pendingInput.question, "Which city?");
      });

      await t.step("a run cancelled while the chat waits: the stream ends with run_cancelled", async () => {
        model.reset();
        model.enqueue(
          { ...toolCallReply("add", { a: 1, b: 2 }), delayMs: 150 },
          toolCallReply("final_answer", { answer: "3" }),
        );
        const { data: stream, response } = await client.chat.completions.create({
          model: "assistant",
          messages: [{ role: "user", content: "1 + 2, slowly" }],
          stream: true,
        }).withResponse();
        const runId = response.headers.get("X-Smolstep-Run-Id");
        const cancel = await api.post(`/v1/runs/${runId}/cancel`);
        assert.ok([200, 202].includes(cancel.status), JSON.stringify(cancel.body));
        let content = "";
        const ended = await (async () => {
          for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
        })().catch((e) => e);
        assert.ok(ended instanceof OpenAI.APIError, String(ended));
        assert.equal(ended.code, "run_cancelled");
        assert.equal(content, "");
        assert.equal((await api.get(`/v1/runs/${runId}`)).body.status, "cancelled");
      });

      await t.step("auth: the API key is required (401 authentication_error)", async () => {
        const anonymous = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: "wrong", maxRetries: 0 });
        for (
          const call of [
            () => anonymous.models.list(),
            () => anonymous.chat.completions.create({ model: "assistant", messages: [{ role: "user", content: "x" }] }),
          ]
        ) {
          const refused = await call().catch((e) => e);
          assert.ok(refused instanceof OpenAI.AuthenticationError, String(refused));
          assert.equal(refused.code, "unauthorized");
          assert.equal(refused.type, "authentication_error");
        }
      });

      await t.step("bad input: 400/404 in OpenAI's shape, naming the parameter", async () => {
        model.reset();
        const user = [{ role: "user" as const, content: "x" }];
        const cases: Array<[Record<string, unknown>, number, string, string | null]> = [
          [{ model: "nobody", messages: user }, 404, "model_not_found", "model"],
          [{ model: "assistant", messages: [] }, 400, "invalid_request", null],
          [{ model: "assistant", messages: user, n: 2 }, 400, "unsupported_parameter", "n"],
          [
            { model: "assistant", messages: user, tools: [{ type: "function", function: { name: "f" } }] },
            400,
            "unsupported_parameter",
            "tools",
          ],
          [
            { model: "assistant", messages: user, response_format: { type: "json_object" } },
            400,
            "unsupported_parameter",
            "response_format",
          ],
          [
            { model: "assistant", messages: [...user, { role: "assistant", content: "y" }] },
            400,
            "invalid_request",
            "messages",
          ],
          [
            {
              model: "assistant",
              messages: [{
                role: "user",
                content: [{ type: "image_url", image_url: { url: "http://10.0.0.1/a.png" } }],
              }],
            },
            400,
            "invalid_request",
            "messages.0.content",
          ],
          [
            { model: "assistant", messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] },
            400,
            "invalid_request",
            null,
          ],
          [{ messages: user }, 400, "invalid_request", null],
        ];
        for (const [body, status, code, param] of cases) {
          const error = await client.chat.completions.create(body as never).catch((e) => e);
          assert.ok(error instanceof OpenAI.APIError, `${JSON.stringify(body)}: ${error}`);
          assert.equal(error.status, status, JSON.stringify(body));
          assert.equal(error.code, code, JSON.stringify(body));
          assert.equal(error.param, param, JSON.stringify(body));
          assert.equal(error.type, status === 404 ? "not_found_error" : "invalid_request_error");
        }
        const malformed = await api.post("/v1/chat/completions", "{nope");
        assert.equal(malformed.status, 400);
        assert.deepEqual(Object.keys(malformed.body.error).sort(), ["code", "message", "param", "retryable", "type"]);
        assert.equal(malformed.body.error.code, "invalid_json");
        assert.equal(model.requests.length, 0, "no bad request reached the model");
      });
    } finally {
      await app.close();
      await model.close();
    }
  });
}

Deno.test("OpenAI-compatible endpoint without a store: 501 store_not_configured, the models still listed", async () => {
  const model = await startScriptedModelServer();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createSmolstep({ agents: agents(model.url) }).app.fetch,
  );
  try {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${server.addr.port}/v1`, apiKey: "none", maxRetries: 0 });
    assert.equal((await client.models.list()).data.length, 3);
    const refused = await client.chat.completions.create({
      model: "assistant",
      messages: [{ role: "user", content: "x" }],
    }).catch((e) => e);
    assert.ok(refused instanceof OpenAI.APIError, String(refused));
    assert.equal(refused.status, 501);
    assert.equal(refused.code, "store_not_configured");
    assert.equal(model.requests.length, 0);
  } finally {
    await server.shutdown();
    await model.close();
  }
});
