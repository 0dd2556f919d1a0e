import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import { startHfHubServer } from "../support/hf_hub_server.ts";
import { startWranglerDev } from "../support/wrangler_dev.ts";

const CONFIG = fileURLToPath(new URL("../support/workers/model_backends_harness.toml", import.meta.url));

Deno.test("remote model backends run inside workerd (wrangler dev)", async () => {
  await using server = await startScriptedModelServer({
    replies: (request) => ({ content: "ok from loopback STOP not this", ignoreStop: request.body.stream === true }),
  });
  await using hub = await startHfHubServer();
  hub.map("workerd/model", { groq: "groq-model" });
  const dev = await startWranglerDev({ config: CONFIG });
  try {
    const query = new URLSearchParams({ base: server.url, hub: hub.origin });
    const response = await fetch(`${dev.url}/run?${query}`);
    const results = await response.json();
    assert.equal(response.status, 200, JSON.stringify(results));
    const names = [
      "OpenAIServerModel",
      "AzureOpenAIServerModel",
      "InferenceClientModel (router)",
      "InferenceClientModel (endpoint)",
      "LiteLLMModel (provider)",
      "LiteLLMModel (proxy)",
      "MLXModel",
    ];
    assert.deepEqual(Object.keys(results), names);
    for (const name of names) {
      assert.deepEqual(results[name], { content: "ok from loopback ", streamed: "ok from loopback " }, name);
    }
    const paths = new Set(server.requests.map((r) => r.path));
    assert.deepEqual([...paths].sort(), [
      "/groq/openai/v1/chat/completions",
      "/openai/deployments/dep/chat/completions",
      "/v1/chat/completions",
    ]);
    assert.equal(hub.requests.length, 1);
  } finally {
    await dev.close();
  }
});
