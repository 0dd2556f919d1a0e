import assert from "node:assert/strict";
import { ConfigurationError } from "../../lib/errors.ts";
import { MLX_DEFAULT_API_BASE, MLXModel } from "../../lib/models/mlx_model.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";
import { runBackendConformance } from "./backend_conformance.ts";

Deno.test("MLXModel: backend conformance against an mlx_lm.server stand-in", async (t) => {
  await using server = await startScriptedModelServer();
  await runBackendConformance(t, {
    server,
    expectedModel: "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit",
    alwaysFlattens: true,
    create: (options) =>
      new MLXModel({ ...options, modelId: "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit", apiBase: server.url }),
  });
});

Deno.test("MLXModel: defaults and request", async (t) => {
  await t.step("mlx_lm.server's default address; modelId is required", () => {
    assert.equal(new MLXModel({ modelId: "m" }).apiBase, "http://127.0.0.1:8080/v1");
    assert.equal(MLX_DEFAULT_API_BASE, "http://127.0.0.1:8080/v1");
    assert.throws(() => new MLXModel({ modelId: "" }), ConfigurationError);
  });

  await t.step("the exact request: plain-text messages, stop and kwargs", async () => {
    await using server = await startScriptedModelServer({ replies: ["What a great day"] });
    const model = new MLXModel({
      modelId: "HuggingFaceTB/SmolLM-135M-Instruct",
      apiBase: server.url,
      kwargs: { max_tokens: 10 },
    });
    const reply = await model.generate([{ role: "user", content: [{ type: "text", text: "Ok!" }] }], {
      stopSequences: ["great"],
    });
    assert.equal(reply.content, "What a ");
    const request = server.lastRequest!;
    assert.equal(request.path, "/v1/chat/completions");
    assert.deepEqual(request.body, {
      max_tokens: 10,
      model: "HuggingFaceTB/SmolLM-135M-Instruct",
      messages: [{ role: "user", content: "Ok!" }],
      stop: ["great"],
    });
  });
});
