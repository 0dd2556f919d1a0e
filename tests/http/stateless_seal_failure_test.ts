import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { webCryptoTokenCipher } from "../../lib/runs/token_cipher.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/**
 * A stateless step whose next token cannot be made (here the token cipher fails once, as a store error keeping the
 * state's blobs would) is not kept: its client gets a 5xx and the token it sent stays valid. Before, the token's claim
 * was left held, so the retry got 409 token_replayed until the claim expired (the step's lock time, minutes).
 */
Deno.test("stateless: a step whose next token cannot be sealed frees its token for the retry", async () => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  let failNextSeal = false;
  const cipher = (key: Uint8Array<ArrayBuffer>) => {
    const real = webCryptoTokenCipher(key);
    return {
      seal: (plain: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>) => {
        if (!failNextSeal) return real.seal(plain, data);
        failNextSeal = false;
        return Promise.reject(new Error("cipher unavailable"));
      },
      open: real.open,
    };
  };
  const agent = new ToolCallingAgent({
    name: "calc",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
  });
  const app = createApp({
    agents: { calc: agent },
    store: new DenoKvStore(kv),
    secret: "seal-failure-secret-0123456789abcdef",
    encryptState: true,
    stateTokenCipher: cipher,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
    const created = await api.post("/v1/agents/calc/runs", { task: "answer", stateless: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    model.enqueue(toolCallReply("final_answer", { answer: "42" }), toolCallReply("final_answer", { answer: "42" }));
    failNextSeal = true;
    const failed = await api.post("/v1/agents/calc/steps", { state: created.body.state });
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    const retried = await api.post("/v1/agents/calc/steps", { state: created.body.state });
    assert.equal(retried.status, 200, `the token was left claimed: ${JSON.stringify(retried.body)}`);
    assert.equal(retried.body.finalAnswer, "42");
  } finally {
    await server.shutdown();
    kv.close();
    await model.close();
  }
});
