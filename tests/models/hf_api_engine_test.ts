import assert from "node:assert/strict";
import { DEFAULT_HF_API_ENGINE_MODEL, HfApiEngine } from "../../lib/models/hf_api_engine.ts";
import { InferenceClientModel } from "../../lib/models/inference_client_model.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import { HF_ROUTER_ORIGIN, redirectingFetch } from "../support/hf_hub_server.ts";

const messages = [
  { role: "user" as const, content: "Hello, how are you?" },
  { role: "assistant" as const, content: "I'm doing great. How can I help you today?" },
  { role: "user" as const, content: "No need to help, take it easy." },
];

Deno.test("HfApiEngine: transformers-agents' defaults over InferenceClientModel", async (t) => {
  await using router = await startScriptedModelServer();
  const seen: string[] = [];
  const fetch = redirectingFetch({ [HF_ROUTER_ORIGIN]: router.url.replace(/\/v1$/, "") }, seen);

  await t.step("model, max_tokens 1500 and a 120 s timeout by default; the auto router", async () => {
    router.enqueue("That's very kind of you to say! conversation over");
    const engine = new HfApiEngine({ token: "hf_test", clientOptions: { fetch } });
    assert.ok(engine instanceof InferenceClientModel);
    assert.deepEqual([engine.modelId, engine.provider, engine.timeoutMs], [
      DEFAULT_HF_API_ENGINE_MODEL,
      "auto",
      120_000,
    ]);
    const reply = await engine.generate(messages, { stopSequences: ["conversation"] });
    assert.equal(reply.content, "That's very kind of you to say! ");
    assert.deepEqual(seen, [`${HF_ROUTER_ORIGIN}/v1/chat/completions`]);
    assert.deepEqual(router.lastRequest?.body, {
      max_tokens: 1500,
      model: DEFAULT_HF_API_ENGINE_MODEL,
      messages,
      stop: ["conversation"],
    });
    assert.equal(router.lastRequest?.headers.authorization, "Bearer hf_test");
  });

  await t.step("model, token, maxTokens and timeout", async () => {
    router.enqueue("ok");
    const engine = new HfApiEngine({
      model: "org/other",
      token: "hf_other",
      maxTokens: 64,
      timeout: 30,
      clientOptions: { fetch },
    });
    assert.equal(engine.timeoutMs, 30_000);
    await engine.generate([messages[0]]);
    assert.equal(router.lastRequest?.body.model, "org/other");
    assert.equal(router.lastRequest?.body.max_tokens, 64);
    assert.equal(router.lastRequest?.headers.authorization, "Bearer hf_other");
  });
});
