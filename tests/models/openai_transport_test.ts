/**
 * The fetch transport of the OpenAI-style backends (lib/models/openai_client_model.ts), on what the conformance
 * suite does not cover: `clientOptions` (headers, query, fetch), keyless servers, errors the server sends in a
 * stream or as text, Azure's redirects, deployment paths and Entra ID tokens, and the browser-page guard. Real servers
 * on loopback throughout.
 */

import assert from "node:assert/strict";
import { ConfigurationError, ModelError } from "../../lib/errors.ts";
import { AzureOpenAIServerModel } from "../../lib/models/azure_openai_server_model.ts";
import type { ChatMessage } from "../../lib/models/chat_message.ts";
import { LiteLLMModel } from "../../lib/models/litellm_model.ts";
import { mergeStreamDeltas } from "../../lib/models/message_utils.ts";
import { MLXModel } from "../../lib/models/mlx_model.ts";
import { OpenAIServerModel } from "../../lib/models/openai_server_model.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

const user = (text: string): ChatMessage => ({ role: "user", content: text });

/** A one-route loopback server answering every request with `respond`. */
function serve(respond: (request: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    requests.push(request);
    return respond(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** An SSE body of these `data:` payloads. */
function sse(...payloads: unknown[]): Response {
  const text = payloads.map((data) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`).join("");
  return new Response(text, { headers: { "content-type": "text/event-stream" } });
}

const chunk = (content: string) => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
});

Deno.test("OpenAI transport: clientOptions shape every request", async (t) => {
  await using server = await startScriptedModelServer();

  await t.step("organization, project, default headers and query, a custom fetch", async () => {
    server.enqueue("one", "two");
    const sent: string[] = [];
    const model = new OpenAIServerModel({
      modelId: "m",
      apiBase: `${server.url}/`,
      apiKey: "sk-1",
      organization: "org-1",
      clientOptions: {
        project: "proj-1",
        defaultHeaders: { "X-Team": "edge", "OpenAI-Organization": null },
        defaultQuery: { tenant: "t1" },
        fetch: (input, init) => (sent.push(String(input)), fetch(input, init)),
      },
    });
    assert.equal((await model.generate([user("q")])).content, "one");
    assert.equal(mergeStreamDeltas(await Array.fromAsync(model.generateStream([user("q")]))).content, "two");
    assert.equal(sent.length, 2, "both requests went through the given fetch");
    for (const request of server.requests) {
      assert.equal(request.path, "/v1/chat/completions", "a trailing slash on the base is not doubled");
      assert.deepEqual(request.query, { tenant: "t1" });
      assert.equal(request.headers.authorization, "Bearer sk-1");
      assert.equal(request.headers["openai-project"], "proj-1");
      assert.equal(request.headers["openai-organization"], undefined, "a null default header removes it");
      assert.equal(request.headers["x-team"], "edge");
      assert.equal(request.headers["content-type"], "application/json");
    }
  });

  await t.step("a query on the base URL stays the query, as the openai client keeps it", async () => {
    server.reset();
    server.enqueue("joined");
    const model = new OpenAIServerModel({
      modelId: "m",
      apiBase: `${server.url}/?key=abc&tenant=base`,
      apiKey: "sk-1",
      clientOptions: { defaultQuery: { tenant: "t1" } },
    });
    assert.equal((await model.generate([user("q")])).content, "joined");
    assert.equal(server.requests[0].path, "/v1/chat/completions");
    assert.deepEqual(server.requests[0].query, { key: "abc", tenant: "t1" }, "defaultQuery wins over the base's");
  });

  await t.step("a keyless local server gets no Authorization header", async () => {
    server.reset();
    server.enqueue("ollama", "mlx");
    const ollama = new LiteLLMModel({ modelId: "ollama/llama3", apiBase: server.url.replace(/\/v1$/, "") });
    assert.equal((await ollama.generate([user("q")])).content, "ollama");
    const mlx = new MLXModel({ modelId: "mlx-community/x", apiBase: server.url });
    assert.equal((await mlx.generate([user("q")])).content, "mlx");
    assert.deepEqual(server.requests.map((r) => r.headers.authorization), [undefined, undefined]);
  });
});

Deno.test("OpenAI transport: errors the server sends", async (t) => {
  await t.step("an error event mid-stream fails the call with its message, not retried", async () => {
    await using server = serve(() => sse(chunk("partial "), { error: { message: "the model overloaded" } }, "[DONE]"));
    const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", retry: { baseDelayMs: 1 } });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const delta of model.generateStream([user("q")])) seen.push(delta.content ?? "");
    })().catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.match(error.message, /the model overloaded/);
    assert.deepEqual(seen.filter(Boolean), ["partial "]);
    assert.equal(server.requests.length, 1);
  });

  await t.step(
    "a last chunk without its blank line (and no [DONE]) is read, as the openai client reads it",
    async () => {
      const body = `data: ${JSON.stringify(chunk("whole "))}\r\n\r\ndata: ${JSON.stringify(chunk("reply"))}`;
      await using server = serve(() => new Response(body, { headers: { "content-type": "text/event-stream" } }));
      const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k" });
      assert.equal(mergeStreamDeltas(await Array.fromAsync(model.generateStream([user("q")]))).content, "whole reply");
    },
  );

  await t.step("a plain-text error body is quoted; its status decides the retry", async () => {
    let calls = 0;
    await using server = serve(() =>
      ++calls === 1
        ? new Response("upstream connect error", { status: 502 })
        : new Response("no such route", { status: 404 })
    );
    const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", retry: { baseDelayMs: 1 } });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.equal(error.status, 404);
    assert.equal(error.retryable, false);
    assert.match(error.message, /HTTP 404: no such route/);
    assert.equal(calls, 2, "the 502 was retried, the 404 was not");
  });

  await t.step("an error body that never ends is read no further than its start: the status is the error", async () => {
    const endless = () =>
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
        },
      });
    await using server = serve(() => new Response(endless(), { status: 502 }));
    const model = new OpenAIServerModel({
      modelId: "m",
      apiBase: server.url,
      apiKey: "k",
      maxRetries: 0,
      timeoutMs: 5_000,
    });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.equal(error.status, 502, error.message);
    assert.ok(error.message.length < 1200, "the quoted body is clipped");
  });

  await t.step("as the openai client: a 408 is retried, and the server's x-should-retry decides first", async () => {
    const answers = [
      new Response("slow", { status: 408 }),
      Response.json({ error: { message: "busy" } }, { status: 400, headers: { "x-should-retry": "true" } }),
      Response.json({ error: { message: "not this one" } }, { status: 503, headers: { "x-should-retry": "false" } }),
    ];
    await using server = serve(() => answers.shift()!);
    const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", retry: { baseDelayMs: 1 } });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError);
    assert.equal(error.status, 503);
    assert.equal(error.retryable, false, "the server said not to retry");
    assert.match(error.message, /not this one/);
    assert.equal(server.requests.length, 3, "the 408 and the 400 marked x-should-retry: true were retried");
  });

  await t.step("a reply that is not JSON is a ModelError, not retried", async () => {
    await using server = serve(() => new Response("<html>proxy login</html>", { status: 200 }));
    const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", retry: { baseDelayMs: 1 } });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.equal(server.requests.length, 1);
  });
});

Deno.test("OpenAI transport: Azure", async (t) => {
  await using scripted = await startScriptedModelServer();
  const origin = scripted.url.replace(/\/v1$/, "");

  await t.step("an api-key request does not follow a redirect, so the key stays with Azure", async () => {
    await using elsewhere = serve(() => Response.json({}));
    await using redirecting = serve(() => Response.redirect(`${elsewhere.url}/steal`, 307));
    const model = new AzureOpenAIServerModel({
      modelId: "dep",
      azureEndpoint: redirecting.url,
      apiKey: "azure-secret",
      apiVersion: "2024-10-21",
      maxRetries: 0,
    });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.equal(redirecting.requests.length, 1);
    assert.equal(elsewhere.requests.length, 0, "the redirect target never saw the key");
  });

  await t.step("a base URL that names a deployment is used as it is, its query kept beside api-version", async () => {
    scripted.reset();
    scripted.enqueue("ok");
    const model = new AzureOpenAIServerModel({
      modelId: "dep",
      apiKey: "k",
      apiVersion: "2024-10-21",
      clientOptions: { baseURL: `${origin}/openai/deployments/other-dep/?sig=s1` },
    });
    await model.generate([user("q")]);
    assert.equal(scripted.requests[0].path, "/openai/deployments/other-dep/chat/completions");
    assert.deepEqual(scripted.requests[0].query, { sig: "s1", "api-version": "2024-10-21" });
  });

  await t.step("an Entra ID token is fetched for each request", async () => {
    scripted.reset();
    scripted.enqueue("a", "b");
    let issued = 0;
    const model = new AzureOpenAIServerModel({
      modelId: "dep",
      azureEndpoint: origin,
      apiVersion: "2024-10-21",
      clientOptions: { azureADTokenProvider: () => Promise.resolve(`token-${++issued}`) },
    });
    await model.generate([user("q")]);
    await model.generate([user("q")]);
    assert.deepEqual(scripted.requests.map((r) => r.headers.authorization), ["Bearer token-1", "Bearer token-2"]);
  });
});

Deno.test("OpenAI transport: a key is not sent from a browser page unless allowed", async () => {
  await using server = await startScriptedModelServer();
  server.enqueue("allowed");
  const page = globalThis as { window?: unknown };
  page.window = { document: {} };
  try {
    const refused = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "sk-secret" });
    const error = await refused.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /dangerouslyAllowBrowser/);
    assert.equal(server.requests.length, 0);
    const allowed = new OpenAIServerModel({
      modelId: "m",
      apiBase: server.url,
      apiKey: "sk-secret",
      clientOptions: { dangerouslyAllowBrowser: true },
    });
    assert.equal((await allowed.generate([user("q")])).content, "allowed");
  } finally {
    delete page.window;
  }
});
