import assert from "node:assert/strict";
import { createCliModel, DEFAULT_MODEL_ID } from "../../cli/model_factory.ts";
import { AzureOpenAIServerModel, LiteLLMModel, OpenAIServerModel } from "../../lib/mod.ts";
import { InferenceClientModel } from "../../lib/entries/hf.ts";
import { TransformersModel } from "../../lib/entries/transformers.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

Deno.test("createCliModel: each --model-type, its options, else the usual variables", async (t) => {
  await t.step("InferenceClientModel by default, smolagents' model id, HF_TOKEN, --provider", async () => {
    const model = await createCliModel({ modelType: "InferenceClientModel", provider: "together" }, { HF_TOKEN: "h" });
    assert.ok(model instanceof InferenceClientModel);
    assert.equal(model.modelId, DEFAULT_MODEL_ID);
    assert.equal(model.provider, "together");
    const endpoint = await createCliModel({ modelType: "InferenceClientModel", apiBase: "http://127.0.0.1:9/v1" }, {});
    assert.equal((endpoint as InferenceClientModel).baseUrl, "http://127.0.0.1:9/v1");
  });

  await t.step("OpenAIServerModel: OPENAI_BASE_URL and OPENAI_API_KEY unless given", async () => {
    await using server = await startScriptedModelServer({ replies: ["hello"] });
    const env = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: "from-env" };
    const model = await createCliModel({ modelType: "OpenAIServerModel", modelId: "m" }, env);
    assert.ok(model instanceof OpenAIServerModel);
    assert.equal(model.apiBase, server.url);
    const reply = await model.generate([{ role: "user", content: "hi" }]);
    assert.equal(reply.content, "hello");
    assert.equal(server.lastRequest!.headers.authorization, "Bearer from-env");
    const given = await createCliModel({ modelType: "OpenAIServerModel", apiBase: "http://x/v1", apiKey: "k" }, env);
    assert.equal((given as OpenAIServerModel).apiBase, "http://x/v1");
  });

  await t.step("LiteLLMModel, AzureOpenAIServerModel and TransformersModel", async () => {
    const lite = await createCliModel({ modelType: "LiteLLMModel", modelId: "groq/llama" }, { GROQ_API_KEY: "g" });
    assert.ok(lite instanceof LiteLLMModel);
    assert.equal(lite.route.provider, "groq");
    const azure = await createCliModel(
      { modelType: "AzureOpenAIServerModel", modelId: "dep", apiBase: "https://r.openai.azure.com/" },
      {},
    );
    assert.ok(azure instanceof AzureOpenAIServerModel);
    assert.equal(azure.azureEndpoint, "https://r.openai.azure.com/");
    const local = await createCliModel({ modelType: "TransformersModel", modelId: "org/tiny" }, {});
    assert.ok(local instanceof TransformersModel, "built without loading anything");
    assert.equal(local.modelId, "org/tiny");
  });
});
