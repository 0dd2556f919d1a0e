import assert from "node:assert/strict";
import { ConfigurationError } from "../../lib/errors.ts";
import { LiteLLMModel, resolveLiteLLMRoute } from "../../lib/models/litellm_model.ts";
import { LITELLM_PROVIDERS } from "../../lib/models/litellm_providers.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import { runBackendConformance } from "./backend_conformance.ts";

const user = (text: string) => ({ role: "user" as const, content: text });

Deno.test("LiteLLMModel: conformance, a provider routed to an overridden base URL", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "anthropic/claude-3.5-sonnet",
    create: (options) =>
      new LiteLLMModel({
        ...options,
        modelId: "openrouter/anthropic/claude-3.5-sonnet",
        providerBaseUrls: { openrouter: server.url },
        env: { OPENROUTER_API_KEY: "or-key" },
      }),
  });
  assert.ok(server.requests.every((r) => r.path === "/v1/chat/completions"));
});

Deno.test("LiteLLMModel: conformance, a LiteLLM proxy", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "anthropic/claude-3-5-sonnet-latest",
    create: (options) =>
      new LiteLLMModel({
        ...options,
        modelId: "anthropic/claude-3-5-sonnet-latest",
        apiBase: server.url,
        apiKey: "sk-proxy",
      }),
  });
});

Deno.test("LiteLLMModel: routes", async (t) => {
  await t.step("known providers: base URL, model name, key variables", () => {
    const route = (id: string) => resolveLiteLLMRoute(id);
    assert.deepEqual(route("groq/llama-3.3-70b-versatile"), {
      provider: "groq",
      baseUrl: "https://api.groq.com/openai/v1",
      model: "llama-3.3-70b-versatile",
      apiKeyEnv: ["GROQ_API_KEY"],
      keyRequired: true,
    });
    assert.equal(route("anthropic/claude-3-5-sonnet-latest").baseUrl, "https://api.anthropic.com/v1");
    assert.deepEqual(route("together_ai/meta-llama/Llama-3-70b").apiKeyEnv, ["TOGETHERAI_API_KEY", "TOGETHER_API_KEY"]);
    assert.equal(route("together_ai/meta-llama/Llama-3-70b").model, "meta-llama/Llama-3-70b");
    assert.equal(route("fireworks_ai/accounts/fireworks/models/x").model, "accounts/fireworks/models/x");
    assert.equal(route("gemini/gemini-2.0-flash").baseUrl, "https://generativelanguage.googleapis.com/v1beta/openai");
    assert.equal(route("ollama/llama3.2").baseUrl, "http://localhost:11434/v1");
    assert.equal(route("ollama/llama3.2").keyRequired, false);
  });

  await t.step("unprefixed ids are inferred like LiteLLM, unknown ones are refused", () => {
    assert.deepEqual([resolveLiteLLMRoute("gpt-4o").provider, resolveLiteLLMRoute("gpt-4o").model], [
      "openai",
      "gpt-4o",
    ]);
    assert.equal(resolveLiteLLMRoute("claude-3-5-haiku-latest").provider, "anthropic");
    assert.throws(() => resolveLiteLLMRoute("meta-llama/Llama-3.3-70B-Instruct"), ConfigurationError);
    assert.throws(() => resolveLiteLLMRoute("llama3"), /provider\/model/);
    assert.throws(() => resolveLiteLLMRoute("hosted_vllm/my-model"), /apiBase/);
  });

  await t.step("huggingface ids map to the router's model[:provider]", () => {
    assert.equal(
      resolveLiteLLMRoute("huggingface/together/deepseek-ai/DeepSeek-R1").model,
      "deepseek-ai/DeepSeek-R1:together",
    );
    assert.equal(
      resolveLiteLLMRoute("huggingface/Qwen/Qwen2.5-Coder-32B-Instruct").model,
      "Qwen/Qwen2.5-Coder-32B-Instruct",
    );
    assert.equal(resolveLiteLLMRoute("huggingface/x/y").baseUrl, "https://router.huggingface.co/v1");
  });

  await t.step("apiBase: a proxy gets the full id; a self-hosted provider's server gets the model name", () => {
    assert.deepEqual(resolveLiteLLMRoute("groq/llama3", { apiBase: "http://proxy:4000" }), {
      provider: undefined,
      baseUrl: "http://proxy:4000",
      model: "groq/llama3",
      apiKeyEnv: ["LITELLM_PROXY_API_KEY"],
      keyRequired: false,
    });
    const ollama = resolveLiteLLMRoute("ollama_chat/llama3.2", { apiBase: "http://gpu:11434" });
    assert.deepEqual([ollama.baseUrl, ollama.model], ["http://gpu:11434/v1", "llama3.2"]);
    const vllm = resolveLiteLLMRoute("hosted_vllm/my-model", { apiBase: "http://vllm:8000/v1/" });
    assert.deepEqual([vllm.baseUrl, vllm.model], ["http://vllm:8000/v1", "my-model"]);
  });

  await t.step("providerBaseUrls overrides a provider or adds one", () => {
    const eu = resolveLiteLLMRoute("mistral/mistral-large-latest", {
      providerBaseUrls: { mistral: "https://eu.example/v1" },
    });
    assert.equal(eu.baseUrl, "https://eu.example/v1");
    const custom = resolveLiteLLMRoute("acme/model-1", { providerBaseUrls: { acme: "https://acme.example/v1" } });
    assert.deepEqual([custom.provider, custom.model, custom.keyRequired], ["acme", "model-1", false]);
  });

  await t.step("every provider in the table has a URL or is self-hosted", () => {
    for (const [name, entry] of Object.entries(LITELLM_PROVIDERS)) {
      assert.ok(entry.baseUrl ? URL.canParse(entry.baseUrl) : entry.selfHosted, name);
    }
  });
});

Deno.test("LiteLLMModel: requests", async (t) => {
  await using server = await startScriptedModelServer();

  await t.step("the key comes from env under the provider's variable", async () => {
    server.enqueue("ok");
    const model = new LiteLLMModel({
      modelId: "together_ai/meta-llama/Llama-3-70b",
      providerBaseUrls: { together_ai: server.url },
      env: { TOGETHER_API_KEY: "tg-key" },
    });
    await model.generate([user("q")]);
    assert.equal(server.lastRequest?.headers.authorization, "Bearer tg-key");
    assert.equal(server.lastRequest?.body.model, "meta-llama/Llama-3-70b");
  });

  await t.step("groq, cerebras and ollama flatten messages by default", async () => {
    for (const modelId of ["groq/llama3", "cerebras/llama3.1-8b", "ollama/llama3.2"]) {
      server.reset();
      server.enqueue("ok");
      const provider = modelId.split("/")[0];
      const model = new LiteLLMModel({ modelId, providerBaseUrls: { [provider]: server.url }, apiKey: "k" });
      await model.generate([{
        role: "user",
        content: [{ type: "text", text: "a" }, { type: "image", image: "data:," }],
      }]);
      assert.deepEqual(server.lastRequest?.body.messages, [{ role: "user", content: "a" }], modelId);
    }
  });

  await t.step("ollama at apiBase needs no key", async () => {
    server.reset();
    server.enqueue("ok");
    const origin = server.url.replace(/\/v1$/, "");
    await new LiteLLMModel({ modelId: "ollama/llama3.2", apiBase: origin }).generate([user("q")]);
    assert.equal(server.lastRequest?.path, "/v1/chat/completions");
    assert.equal(server.lastRequest?.body.model, "llama3.2");
  });

  await t.step("a bare-origin apiBase with a query string gets /v1 before its query", async () => {
    server.reset();
    server.enqueue("ok");
    const origin = server.url.replace(/\/v1$/, "");
    await new LiteLLMModel({ modelId: "ollama/llama3.2", apiBase: `${origin}?tenant=a` }).generate([user("q")]);
    assert.equal(server.lastRequest?.path, "/v1/chat/completions");
    assert.deepEqual(server.lastRequest?.query, { tenant: "a" });
    const route = resolveLiteLLMRoute("ollama/llama3.2", { apiBase: "http://gpu:11434/?tenant=a" });
    assert.equal(route.baseUrl, "http://gpu:11434/v1?tenant=a");
  });

  await t.step("a missing key is a ConfigurationError naming the variables, nothing is sent", async () => {
    server.reset();
    const model = new LiteLLMModel({ modelId: "fireworks_ai/x", env: {} });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /FIREWORKS_AI_API_KEY or FIREWORKS_API_KEY/);
    assert.equal(server.requests.length, 0);
  });
});
