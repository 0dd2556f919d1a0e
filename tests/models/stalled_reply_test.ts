/**
 * A model server that sends its response headers and part of the body, then stalls: each backend's `timeoutMs`
 * bounds the whole attempt (not only until the headers), so the attempt is retried and a call never outlasts
 * `worstCaseMs` of its limits (issue 10: model time limits sized to the lock).
 */

import assert from "node:assert/strict";
import { ModelError } from "../../lib/errors.ts";
import { InferenceClientModel } from "../../lib/models/inference_client_model.ts";
import type { Model } from "../../lib/models/model.ts";
import { OpenAIServerModel } from "../../lib/models/openai_server_model.ts";

const COMPLETION = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "fast" } }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
};

/** Answers the first `stalls` POSTs with headers and half a JSON body, then nothing; later ones in full. */
function startStallingServer(stalls: number) {
  let posts = 0;
  const open = new Set<ReadableStreamDefaultController>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.body?.cancel();
    if (request.method !== "POST") return new Response("not found", { status: 404 });
    if (++posts > stalls) return Response.json(COMPLETION);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        open.add(controller);
        controller.enqueue(new TextEncoder().encode('{"id":"chatcmpl-1","object":'));
      },
      cancel() {
        for (const controller of open) open.delete(controller);
      },
    });
    return new Response(body, { headers: { "Content-Type": "application/json" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1`,
    get posts() {
      return posts;
    },
    async close() {
      for (const controller of open) {
        try {
          controller.close();
        } catch { /* already closed */ }
      }
      await server.shutdown();
    },
  };
}

const backends: Array<[string, (url: string, limits: { timeoutMs: number; maxRetries: number }) => Model]> = [
  ["OpenAIServerModel", (url, limits) => new OpenAIServerModel({ modelId: "m", apiBase: url, apiKey: "k", ...limits })],
  [
    "InferenceClientModel (endpoint)",
    (url, limits) => new InferenceClientModel({ modelId: "m", baseUrl: url, token: "hf_test", ...limits }),
  ],
];

/** `generate`, failing with "still waiting" after 10 s: far beyond the limits used here, so a hang fails the test. */
async function generateGuarded(model: Model) {
  const guard = new AbortController();
  const timer = setTimeout(() => guard.abort(new Error("still waiting after 10 s")), 10_000);
  try {
    return await model.generate([{ role: "user", content: "q" }], { signal: guard.signal });
  } finally {
    clearTimeout(timer);
  }
}

for (const [name, create] of backends) {
  Deno.test(`${name}: a reply that stalls after its headers is timed out per attempt and retried`, async (t) => {
    await t.step("the retry answers", async () => {
      const server = startStallingServer(1);
      try {
        const model = create(server.url, { timeoutMs: 300, maxRetries: 1 });
        const reply = await generateGuarded(model);
        assert.equal(reply.content, "fast");
        assert.equal(server.posts, 2);
      } finally {
        await server.close();
      }
    });

    await t.step("every attempt stalls: a retryable ModelError once the attempts are used", async () => {
      const server = startStallingServer(Infinity);
      try {
        const model = create(server.url, { timeoutMs: 300, maxRetries: 1 });
        const error = await generateGuarded(model).catch((e) => e);
        assert.ok(error instanceof ModelError, String(error));
        assert.equal(error.retryable, true);
        assert.equal(server.posts, 2);
      } finally {
        await server.close();
      }
    });
  });
}
