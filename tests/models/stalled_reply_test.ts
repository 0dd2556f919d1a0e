/**
 * A model server that sends its response headers and part of the body, then stalls
 * (tests/support/stalling_model_server.ts). Each backend's `timeoutMs` bounds a whole reply (not only until the
 * headers), so the attempt is retried and a call never outlasts `worstCaseMs` of its limits; a stream cut by the
 * caller's signal fails with the signal's reason instead of ending as a short reply (issue 10: model time limits,
 * abandoned steps change nothing).
 */

import assert from "node:assert/strict";
import { ModelError } from "../../lib/errors.ts";
import { InferenceClientModel } from "../../lib/models/inference_client_model.ts";
import type { Model } from "../../lib/models/model.ts";
import { OpenAIServerModel } from "../../lib/models/openai_server_model.ts";
import { startStallingModelServer } from "../support/stalling_model_server.ts";

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
      const server = startStallingModelServer(1);
      try {
        const reply = await generateGuarded(create(server.url, { timeoutMs: 300, maxRetries: 1 }));
        assert.equal(reply.content, "fast");
        assert.equal(server.posts, 2);
      } finally {
        await server.close();
      }
    });

    await t.step("every attempt stalls: a retryable ModelError once the attempts are used", async () => {
      const server = startStallingModelServer();
      try {
        const error = await generateGuarded(create(server.url, { timeoutMs: 300, maxRetries: 1 })).catch((e) => e);
        assert.ok(error instanceof ModelError, String(error));
        assert.equal(error.retryable, true);
        assert.equal(server.posts, 2);
      } finally {
        await server.close();
      }
    });
  });

  Deno.test(`${name}: a stream cut by the caller's signal mid-reply fails with its reason, not a short reply`, async () => {
    const server = startStallingModelServer();
    try {
      const model = create(server.url, { timeoutMs: 60_000, maxRetries: 0 });
      const caller = new AbortController();
      const reason = new Error("the step's deadline");
      const pieces: string[] = [];
      const streamed = (async () => {
        for await (const delta of model.generateStream!([{ role: "user", content: "q" }], { signal: caller.signal })) {
          pieces.push(delta.content ?? "");
          caller.abort(reason); // the first piece arrived; the rest never will
        }
      })();
      await assert.rejects(streamed, (error) => error === reason);
      assert.deepEqual(pieces.join(""), "Let me");
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: a started stream that then sends nothing fails after timeoutMs of silence, with no signal of the caller's`, async () => {
    const server = startStallingModelServer();
    try {
      const model = create(server.url, { timeoutMs: 300, maxRetries: 0 });
      const pieces: string[] = [];
      const streamed = (async () => {
        for await (const delta of model.generateStream!([{ role: "user", content: "q" }])) {
          pieces.push(delta.content ?? "");
        }
      })();
      // Far beyond the limit: without it the stream would wait for ever, and this fails the test instead.
      let guard: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise((_, reject) =>
        guard = setTimeout(() => reject(new Error("still waiting after 10 s")), 10_000)
      );
      try {
        const error = await Promise.race([streamed, hung]).then(() => undefined, (e) => e);
        assert.ok(error instanceof ModelError, String(error));
        assert.match(error.message, /sent nothing for 300 ms/);
        assert.equal(error.retryable, true);
      } finally {
        clearTimeout(guard);
      }
      assert.deepEqual(pieces.join(""), "Let me");
      assert.equal(server.posts, 1, "a half-read stream is not retried");
    } finally {
      await server.close();
    }
  });
}
