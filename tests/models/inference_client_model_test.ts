import assert from "node:assert/strict";
import { ConfigurationError, ModelError } from "../../lib/errors.ts";
import {
  DEFAULT_INFERENCE_CLIENT_MODEL_ID,
  InferenceClientModel,
  type InferenceClientModelOptions,
} from "../../lib/models/inference_client_model.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import {
  HF_HUB_ORIGIN,
  HF_ROUTER_ORIGIN,
  type HfHubServer,
  redirectingFetch,
  startHfHubServer,
} from "../support/hf_hub_server.ts";
import { runBackendConformance } from "./backend_conformance.ts";

const user = (text: string) => ({ role: "user" as const, content: text });
const USER_AGENT = /^@huggingface\/inference\/\d+\.\d+\.\d+/;

/** Servers standing in for the router (the scripted server) and the Hub, and a fetch that reaches them. */
async function startHfStandIns() {
  const router = await startScriptedModelServer();
  const hub = await startHfHubServer();
  const seen: string[] = [];
  const routes = { [HF_ROUTER_ORIGIN]: router.url.replace(/\/v1$/, ""), [HF_HUB_ORIGIN]: hub.origin };
  const fetch = redirectingFetch(routes, seen);
  const close = async () => void await Promise.all([router.close(), hub.close()]);
  return { router, hub, seen, fetch, [Symbol.asyncDispose]: close };
}

function routed(fetch: typeof globalThis.fetch, options: InferenceClientModelOptions = {}) {
  return new InferenceClientModel({ token: "hf_test", clientOptions: { fetch }, ...options });
}

/** A fresh Hub id per use: the client caches the provider mapping per id for the whole process. */
function mappedModel(hub: HfHubServer, provider: string, providerId: string): string {
  const modelId = `test-org/model-${crypto.randomUUID().slice(0, 8)}`;
  hub.map(modelId, { [provider]: providerId });
  return modelId;
}

Deno.test("InferenceClientModel: conformance through the router with a provider", async (t) => {
  await using hf = await startHfStandIns();
  // groq: the client sends OpenAI's format unchanged (together, for one, reshapes json_schema response formats).
  const modelId = mappedModel(hf.hub, "groq", "qwen-coder-groq");
  await runBackendConformance(t, {
    server: hf.router,
    expectedModel: "qwen-coder-groq",
    create: (options) => routed(hf.fetch, { ...options, modelId, provider: "groq" }),
  });
  assert.ok(hf.router.requests.every((r) => r.path === "/groq/openai/v1/chat/completions"));
});

Deno.test("InferenceClientModel: conformance against an endpoint URL", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "tgi",
    create: (options) =>
      new InferenceClientModel({ ...options, modelId: "tgi", baseUrl: server.url, token: "hf_test" }),
  });
});

Deno.test("InferenceClientModel: the exact requests", async (t) => {
  await using hf = await startHfStandIns();

  await t.step("router with a provider: Hub mapping lookup, then /{provider}/v1/chat/completions", async () => {
    const modelId = mappedModel(hf.hub, "together", "together/qwen-coder-turbo");
    hf.router.enqueue("one", "two");
    const model = routed(hf.fetch, { modelId, provider: "together", billTo: "my-org" });
    await model.generate([user("q")]);
    await model.generate([user("q")]);
    const mapping = `${HF_HUB_ORIGIN}/api/models/${modelId}?expand[]=inferenceProviderMapping`;
    const completions = `${HF_ROUTER_ORIGIN}/together/v1/chat/completions`;
    assert.deepEqual(hf.seen, [mapping, completions, completions], "the mapping is looked up once");
    const [lookup] = hf.hub.requests;
    assert.equal(lookup.path, `/api/models/${modelId}`);
    assert.deepEqual(lookup.query, { "expand[]": "inferenceProviderMapping" });
    assert.equal(lookup.headers.authorization, "Bearer hf_test");
    for (const request of hf.router.requests) {
      assert.equal(request.path, "/together/v1/chat/completions");
      assert.equal(request.headers.authorization, "Bearer hf_test");
      assert.equal(request.headers["content-type"], "application/json");
      assert.equal(request.headers["x-hf-bill-to"], "my-org");
      assert.match(request.headers["user-agent"], USER_AGENT);
      assert.deepEqual(request.body, {
        model: "together/qwen-coder-turbo",
        messages: [{ role: "user", content: "q" }],
      });
    }
  });

  await t.step("the client adapts request fields to the provider (together's json_schema)", async () => {
    const modelId = mappedModel(hf.hub, "together", "together/other");
    hf.router.enqueue("{}");
    const schema = { type: "object" };
    const responseFormat = { type: "json_schema", json_schema: { name: "answer", schema } };
    await routed(hf.fetch, { modelId, provider: "together" }).generate([user("q")], { responseFormat });
    assert.deepEqual(hf.router.lastRequest?.body.response_format, { type: "json_schema", schema });
  });

  await t.step('provider "auto" (default): the router\'s /v1/chat/completions with the Hub id', async () => {
    hf.router.reset();
    hf.seen.length = 0;
    hf.router.enqueue("auto");
    const model = routed(hf.fetch);
    assert.deepEqual([model.modelId, model.provider, model.baseUrl], [
      DEFAULT_INFERENCE_CLIENT_MODEL_ID,
      "auto",
      undefined,
    ]);
    await model.generate([user("q")], { stopSequences: ["END"] });
    assert.deepEqual(hf.seen, [`${HF_ROUTER_ORIGIN}/v1/chat/completions`]);
    const [request] = hf.router.requests;
    assert.equal(request.headers.authorization, "Bearer hf_test");
    assert.equal(request.headers["x-hf-bill-to"], undefined);
    assert.deepEqual(request.body, {
      model: DEFAULT_INFERENCE_CLIENT_MODEL_ID,
      messages: [{ role: "user", content: "q" }],
      stop: ["END"],
    });
  });

  await t.step("a model no provider serves fails clearly", async () => {
    const error = await routed(hf.fetch, { modelId: "nobody/serves-this", provider: "together", maxRetries: 0 })
      .generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ModelError, String(error));
    assert.equal(error.status, 404);
    assert.match(error.message, /nobody\/serves-this/);
  });
});

Deno.test("InferenceClientModel: endpoint URL forms", async (t) => {
  await using server = await startScriptedModelServer();
  const origin = server.url.replace(/\/v1$/, "");
  const cases: Array<[string, string]> = [
    [server.url, "/v1/chat/completions"],
    [origin, "/v1/chat/completions"],
    [`${origin}/custom/chat/completions`, "/custom/chat/completions"],
  ];
  for (const [baseUrl, path] of cases) {
    await t.step(`${baseUrl.replace(origin, "{origin}") || "{origin}"} -> ${path}`, async () => {
      server.reset();
      server.enqueue("ok");
      const model = new InferenceClientModel({ baseUrl, token: "hf_test", provider: "together" });
      assert.equal(model.provider, undefined, "provider is unused with baseUrl");
      await model.generate([user("q")]);
      const [request] = server.requests;
      assert.equal(request.path, path);
      assert.equal(request.headers.authorization, "Bearer hf_test");
      assert.equal(request.headers["content-type"], "application/json");
      assert.match(request.headers["user-agent"], USER_AGENT);
      assert.deepEqual(request.body, {
        model: DEFAULT_INFERENCE_CLIENT_MODEL_ID,
        messages: [{ role: "user", content: "q" }],
      });
    });
  }

  await t.step("no token: no Authorization header (a local TGI)", async () => {
    server.reset();
    server.enqueue("ok");
    await new InferenceClientModel({ baseUrl: server.url, modelId: "local" }).generate([user("q")]);
    assert.equal(server.requests[0].headers.authorization, undefined);
  });

  await t.step("a URL as modelId is an endpoint", async () => {
    server.reset();
    server.enqueue("ok");
    const model = new InferenceClientModel({ modelId: server.url, apiKey: "hf_x" });
    assert.equal(model.baseUrl, server.url);
    await model.generate([user("q")]);
    assert.equal(server.requests[0].path, "/v1/chat/completions");
    assert.equal(server.requests[0].body.model, server.url);
  });
});

Deno.test("InferenceClientModel: configuration", async (t) => {
  await t.step("token and apiKey together are rejected", () => {
    assert.throws(() => new InferenceClientModel({ token: "hf_a", apiKey: "hf_b" }), ConfigurationError);
    assert.throws(() => new InferenceClientModel({ timeout: 5, timeoutMs: 5_000 }), ConfigurationError);
  });

  await t.step("timeout is in seconds, 120 by default", () => {
    assert.equal(new InferenceClientModel().timeoutMs, 120_000);
    assert.equal(new InferenceClientModel({ timeout: 30 }).timeoutMs, 30_000);
  });

  await t.step("the router without a token is a ConfigurationError naming HF_TOKEN", async () => {
    const error = await new InferenceClientModel().generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /HF_TOKEN/);
  });

  await t.step("the auto router with a non-HF key is a ConfigurationError", async () => {
    const model = new InferenceClientModel({ token: "sk-provider-key", maxRetries: 0 });
    await assert.rejects(model.generate([user("q")]), ConfigurationError);
  });
});
