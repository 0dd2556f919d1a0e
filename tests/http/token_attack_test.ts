import assert from "node:assert/strict";
import { decodeBase64Url, encodeBase64Url } from "../../lib/base64.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp } from "../../lib/server.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "token-attack-secret-0123456789";

function serve(options: AppOptions) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createApp(options).fetch);
  return { api: apiClient(`http://127.0.0.1:${server.addr.port}`), close: () => server.shutdown() };
}

Deno.test("attack: stateless tokens over HTTP, two server processes on one Deno KV", async (t) => {
  const model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("web_search", { query: "q" }));
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  const [kvA, kvB] = [await Deno.openKv(path), await Deno.openKv(path)];
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const agents = {
    assistant: new ToolCallingAgent({ name: "assistant", model: openai }),
    other: new ToolCallingAgent({ name: "other", model: openai }),
  };
  // Two instances of one deployment (same secret, same KV), one with another secret, one that only signs.
  const a = serve({ agents, store: new DenoKvStore(kvA), secret: SECRET });
  const b = serve({ agents, store: new DenoKvStore(kvB), secret: SECRET });
  const foreign = serve({ agents, secret: "another-deployment-secret-0123" });
  const signing = serve({ agents, secret: SECRET, encryptState: false });
  const create = async (api = a.api) => {
    const created = await api.post("/v1/agents/assistant/runs", { task: "attack", stateless: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.state as string;
  };
  try {
    await t.step("a token stepped on one instance is 409 token_replayed on the other, no model call", async () => {
      const token = await create();
      const first = await a.api.post("/v1/agents/assistant/steps", { state: token });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const calls = model.requests.length;
      const replayed = await b.api.post("/v1/agents/assistant/steps", { state: token });
      assert.deepEqual([replayed.status, replayed.body.error?.code], [409, "token_replayed"]);
      assert.equal(model.requests.length, calls);
    });

    await t.step("one token sent to both instances at once: one steps, the other is refused", async () => {
      const token = await create();
      const answers = await Promise.all([
        a.api.post("/v1/agents/assistant/steps", { state: token }),
        b.api.post("/v1/agents/assistant/steps", { state: token }),
      ]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 409]);
    });

    await t.step("tampered, swapped, foreign and other-agent tokens: 4xx, nothing runs", async () => {
      const token = await create();
      const sealed = decodeBase64Url(token.slice(4))!;
      const flipped = (at: number) => {
        const copy = sealed.slice();
        copy[at] ^= 0x80;
        return `st2.${encodeBase64Url(copy)}`;
      };
      const signedOnly = await create(signing.api);
      const [, payload, mac] = signedOnly.split(".");
      const attacks: Array<[string, string, string]> = [
        ["IV bit", flipped(0), "invalid_token"],
        ["ciphertext bit", flipped(sealed.length >> 1), "invalid_token"],
        ["tag bit", flipped(sealed.length - 1), "invalid_token"],
        ["truncated", token.slice(0, -6), "invalid_token"],
        ["prefix st2 -> st1", `st1.${token.slice(4)}.${mac}`, "invalid_token"],
        ["prefix st1 -> st2", `st2.${payload}`, "invalid_token"],
        ["signed-only token to an encrypting server", signedOnly, "invalid_token"],
        ["another deployment's token", await create(foreign.api), "invalid_token"],
        ["a huge garbage token", `st2.${"A".repeat(900_000)}`, "invalid_token"],
      ];
      const calls = model.requests.length;
      for (const [what, state, code] of attacks) {
        const answer = await a.api.post("/v1/agents/assistant/steps", { state });
        assert.deepEqual([answer.status, answer.body.error?.code], [400, code], what);
        assert.ok(!JSON.stringify(answer.body).includes(state.slice(4, 40)), `${what}: the token is not echoed`);
      }
      const otherAgent = await a.api.post("/v1/agents/other/steps", { state: token });
      assert.deepEqual([otherAgent.status, otherAgent.body.error?.code], [400, "token_agent_mismatch"]);
      assert.equal(model.requests.length, calls, "no attack reached the model");
      // The genuine token was not used up by the attacks on its copies.
      assert.equal((await a.api.post("/v1/agents/assistant/steps", { state: token })).status, 200);
    });
  } finally {
    await Promise.all([a.close(), b.close(), foreign.close(), signing.close()]);
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
    await model.close();
  }
});
