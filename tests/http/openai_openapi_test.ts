/** The OpenAI-compatible routes against the app's OpenAPI document: real answers, chunks and errors validate. */
import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { checkResponse, documentValidator, findOperation, type Json } from "../support/openapi_validation.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const API_KEY = "openapi-test-key";

Deno.test("openapi: the OpenAI-compatible routes validate against the document", async (t) => {
  const model = await startScriptedModelServer();
  const agent = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [],
  });
  const app = createApp({ agents: { ops: agent }, store: new MemoryStore(), apiKeys: [API_KEY] });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base, { apiKey: API_KEY });
  try {
    const doc: Json = await (await fetch(`${base}/openapi.json`)).json();
    const compile = documentValidator(doc);
    const check = (method: string, path: string, status: number, body: unknown) =>
      checkResponse(doc, method, path, status, body);
    await t.step("the OpenAI-compatible routes: models, a completion, its chunks and errors validate", async () => {
      const models = await api.get("/v1/models");
      check("GET", "/v1/models", models.status, models.body);
      const one = await api.get("/v1/models/ops");
      check("GET", "/v1/models/ops", one.status, one.body);
      const missing = await api.get("/v1/models/nobody");
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, "model_not_found");
      check("GET", "/v1/models/nobody", missing.status, missing.body);

      model.reset();
      model.enqueue(
        toolCallReply("final_answer", { answer: "chat ok" }),
        toolCallReply("final_answer", { answer: "s" }),
      );
      const messages = [{ role: "user", content: "hello" }];
      const completion = await api.post("/v1/chat/completions", { model: "ops", messages });
      assert.equal(completion.status, 200, JSON.stringify(completion.body));
      assert.ok(completion.headers.get("X-Smolstep-Run-Id"));
      check("POST", "/v1/chat/completions", 200, completion.body);
      const streamed = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ model: "ops", messages, stream: true, stream_options: { include_usage: true } }),
      });
      const sse = findOperation(doc, "POST", "/v1/chat/completions").responses["200"].content["text/event-stream"];
      const chunk = compile(sse["x-sse-events"].data);
      const datas = (await streamed.text()).split("\n\n").filter(Boolean).map((e) => e.replace(/^data: /, ""));
      assert.equal(datas.pop(), "[DONE]");
      assert.ok(datas.length >= 3);
      for (const data of datas) assert.ok(chunk(JSON.parse(data)), `${JSON.stringify(chunk.errors)}\n${data}`);
      assert.equal(chunk({ object: "chat.completion.chunk" }), false, "the chunk schema bites");

      for (
        const [body, status, code] of [
          [{ model: "nobody", messages }, 404, "model_not_found"],
          [{ model: "ops", messages: [] }, 400, "invalid_request"],
          [{ model: "ops", messages, n: 3 }, 400, "unsupported_parameter"],
        ] as const
      ) {
        const response = await api.post("/v1/chat/completions", body);
        assert.equal(response.status, status);
        assert.equal(response.body.error.code, code);
        check("POST", "/v1/chat/completions", status, response.body);
      }
      // An Idempotency-Key reused with another body: 422 idempotency_key_reused, in OpenAI's shape.
      model.enqueue(toolCallReply("final_answer", { answer: "keyed" }));
      const key = { "Idempotency-Key": "openapi-key" };
      assert.equal((await api.post("/v1/chat/completions", { model: "ops", messages }, key)).status, 200);
      const reused = await api.post(
        "/v1/chat/completions",
        { model: "ops", messages: [...messages, ...messages] },
        key,
      );
      assert.deepEqual([reused.status, reused.body.error.code], [422, "idempotency_key_reused"]);
      check("POST", "/v1/chat/completions", 422, reused.body);
      const unauthorized = await apiClient(base).post("/v1/chat/completions", { model: "ops", messages });
      assert.equal(unauthorized.status, 401);
      assert.equal(unauthorized.body.error.type, "authentication_error");
      check("POST", "/v1/chat/completions", 401, unauthorized.body);
      const request = compile(
        findOperation(doc, "POST", "/v1/chat/completions").requestBody.content["application/json"]
          .schema,
      );
      assert.equal(request({ model: "ops", messages, temperature: 0.1, stream: true }), true);
      assert.equal(request({ model: "ops" }), false);
    });
  } finally {
    await server.shutdown();
    await model.close();
  }
});
