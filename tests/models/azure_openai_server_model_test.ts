import assert from "node:assert/strict";
import { ConfigurationError } from "../../lib/errors.ts";
import {
  AzureOpenAIServerModel,
  type AzureOpenAIServerModelOptions,
} from "../../lib/models/azure_openai_server_model.ts";
import { mergeStreamDeltas } from "../../lib/models/message_utils.ts";
import { type ScriptedModelServer, startScriptedModelServer } from "../support/scripted_model_server.ts";
import { runBackendConformance } from "./backend_conformance.ts";

const API_VERSION = "2024-10-21";
const user = (text: string) => ({ role: "user" as const, content: text });

/** The resource endpoint: the server's origin, without /v1 (the client adds /openai). */
const endpointOf = (server: ScriptedModelServer) => server.url.replace(/\/v1$/, "");

function azureFor(server: ScriptedModelServer, options: Partial<AzureOpenAIServerModelOptions> = {}) {
  return new AzureOpenAIServerModel({
    modelId: "my-deployment",
    azureEndpoint: `${endpointOf(server)}/`,
    apiKey: "azure-key",
    apiVersion: API_VERSION,
    ...options,
  });
}

Deno.test("AzureOpenAIServerModel: backend conformance", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "my-deployment",
    create: (options) => azureFor(server, options),
  });
});

Deno.test("AzureOpenAIServerModel: Azure's request shape", async (t) => {
  await using server = await startScriptedModelServer();

  await t.step("deployment path, api-version query, api-key header", async () => {
    server.enqueue("hi", "streamed");
    const model = azureFor(server);
    assert.equal((await model.generate([user("q")])).content, "hi");
    await Array.fromAsync(model.generateStream([user("q")]));
    for (const request of server.requests) {
      assert.equal(request.method, "POST");
      assert.equal(request.path, "/openai/deployments/my-deployment/chat/completions");
      assert.deepEqual(request.query, { "api-version": API_VERSION });
      assert.equal(
        request.url,
        `${endpointOf(server)}/openai/deployments/my-deployment/chat/completions?api-version=${API_VERSION}`,
      );
      assert.equal(request.headers["api-key"], "azure-key");
      assert.equal(request.headers.authorization, undefined);
      assert.equal(request.body.model, "my-deployment");
    }
    assert.equal(server.requests.length, 2);
  });

  await t.step("endpoint, key and version fall back to the `env` record", async () => {
    server.reset();
    server.enqueue("from env");
    const model = new AzureOpenAIServerModel({
      modelId: "dep-2",
      env: {
        AZURE_OPENAI_ENDPOINT: endpointOf(server),
        AZURE_OPENAI_API_KEY: "env-key",
        OPENAI_API_VERSION: "2025-01-01",
      },
    });
    assert.equal(model.azureEndpoint, endpointOf(server));
    assert.equal((await model.generate([user("q")])).content, "from env");
    const [request] = server.requests;
    assert.equal(request.path, "/openai/deployments/dep-2/chat/completions");
    assert.deepEqual(request.query, { "api-version": "2025-01-01" });
    assert.equal(request.headers["api-key"], "env-key");
  });

  await t.step("explicit options win over `env`", async () => {
    server.reset();
    server.enqueue("explicit");
    const model = azureFor(server, {
      env: { AZURE_OPENAI_ENDPOINT: "http://127.0.0.1:9/", AZURE_OPENAI_API_KEY: "no" },
    });
    await model.generate([user("q")]);
    assert.equal(server.requests[0].headers["api-key"], "azure-key");
  });

  await t.step("an Entra ID token provider sends a bearer token instead of api-key", async () => {
    server.reset();
    server.enqueue("entra");
    const model = new AzureOpenAIServerModel({
      modelId: "dep",
      azureEndpoint: endpointOf(server),
      apiVersion: API_VERSION,
      clientOptions: { azureADTokenProvider: () => Promise.resolve("entra-token") },
    });
    await model.generate([user("q")]);
    assert.equal(server.requests[0].headers.authorization, "Bearer entra-token");
    assert.equal(server.requests[0].headers["api-key"], undefined);
  });

  await t.step("stream deltas come back merged", async () => {
    server.reset();
    server.enqueue("abcdef");
    const deltas = await Array.fromAsync(azureFor(server).generateStream([user("q")]));
    assert.equal(mergeStreamDeltas(deltas).content, "abcdef");
  });
});

Deno.test("AzureOpenAIServerModel: configuration errors", async (t) => {
  await t.step("modelId is required", () => {
    assert.throws(() => new AzureOpenAIServerModel({ modelId: "" }), ConfigurationError);
  });

  await t.step("missing settings are named at the first call, nothing is sent", async () => {
    const model = new AzureOpenAIServerModel({ modelId: "dep", env: {} });
    const error = await model.generate([user("q")]).catch((e) => e);
    assert.ok(error instanceof ConfigurationError);
    for (const name of ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"]) {
      assert.ok(error.message.includes(name), error.message);
    }
    await assert.rejects(Array.fromAsync(model.generateStream([user("q")])), ConfigurationError);
  });
});
