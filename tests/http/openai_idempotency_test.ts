/**
 * `POST /v1/chat/completions` with an `Idempotency-Key`, through the official `openai` client: a request retried after
 * the client gave up (its timeout, a proxy's cut) answers from the run the first attempt started instead of starting
 * another run (and paying for it again); the key sent with another body is refused (422 `idempotency_key_reused`), as
 * the IETF `Idempotency-Key` draft asks. Without a key, each attempt is a run of its own (SECURITY.md).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { REQUEST_KEY_WINDOW_SECONDS } from "../../lib/http/request_replay.ts";
import { DeliveryClaims } from "../../lib/webhooks/delivery_claims.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep } from "../../lib/server.ts";
import { serveBackground } from "../support/background_app.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const API_KEY = "idempotent-chat-key";
const OTHER_API_KEY = "another-callers-key";

async function serve(mode: "inline" | "background", model: ScriptedModelServer) {
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const openai = new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 });
  const options: Omit<AppOptions, "queue"> = {
    agents: { assistant: new ToolCallingAgent({ name: "assistant", model: openai }) },
    store,
    apiKeys: [API_KEY, OTHER_API_KEY],
    events: { pollMs: 20 },
    lockTtlMs: 5_000,
  };
  if (mode === "background") {
    const served = serveBackground(options);
    return { url: served.url, store, close: async () => (await served.close(), kv.close()) };
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createSmolstep(options).app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, store, close: async () => (await server.shutdown(), kv.close()) };
}

const question = { model: "assistant", messages: [{ role: "user" as const, content: "What is 6 x 7?" }] };
const keyed = (key: string) => ({ headers: { "Idempotency-Key": key } });

for (const mode of ["inline", "background"] as const) {
  Deno.test(`chat completions (${mode}): a retry with the same Idempotency-Key answers from the first attempt's run`, async () => {
    await using model = await startScriptedModelServer();
    model.setHandler(() => ({ ...toolCallReply("final_answer", { answer: "42" }), delayMs: 600 }));
    const app = await serve(mode, model);
    try {
      const impatient = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 200 });
      await assert.rejects(
        impatient.chat.completions.create(question, keyed("req-1")),
        OpenAI.APIConnectionTimeoutError,
      );
      const retriedAt = Date.now();
      const patient = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
      const { data, response } = await patient.chat.completions.create(question, keyed("req-1")).withResponse();
      assert.equal(data.choices[0].message.content, "42");
      const runId = response.headers.get("X-Smolstep-Run-Id")!;
      const run = (await apiClient(app.url, { apiKey: API_KEY }).get(`/v1/runs/${runId}`)).body;
      assert.ok(Date.parse(run.createdAt) < retriedAt, "the run is the one the first attempt created");
      assert.equal(run.steps.filter((step: { type: string }) => step.type === "action").length, 1);
      // Background: the first attempt's run went on alone (one model call). Inline: the first attempt's step either
      // finished (the retry waited for its lock and replayed it: one call) or stopped when the server saw the client
      // go (the retry stepped the same run on: the abandoned call, then the one that answered).
      const calls = model.requests.length;
      assert.ok(mode === "background" ? calls === 1 : calls === 1 || calls === 2, `${calls} model calls`);

      const again = await patient.chat.completions.create(question, keyed("req-1")).withResponse();
      assert.equal(again.response.headers.get("X-Smolstep-Run-Id"), runId, "an ended run answers at once");
      assert.equal(model.requests.length, calls, "and calls nothing");
      // The same body written with its keys in another order is the same request.
      const reordered = {
        messages: [{ content: question.messages[0].content, role: "user" as const }],
        model: "assistant",
      };
      const same = await patient.chat.completions.create(reordered, keyed("req-1")).withResponse();
      assert.equal(same.response.headers.get("X-Smolstep-Run-Id"), runId, "keys in another order: the same request");

      // Another body with the key: 422 idempotency_key_reused, nothing runs, and the first run is not named.
      const other = { ...question, messages: [{ role: "user" as const, content: "And 7 x 6?" }] };
      const sampled = { ...question, temperature: 0.5 };
      for (const body of [other, sampled]) {
        const refused = await patient.chat.completions.create(body, keyed("req-1")).catch((e) => e);
        assert.ok(refused instanceof OpenAI.UnprocessableEntityError, String(refused));
        assert.equal(refused.status, 422);
        assert.equal(refused.code, "idempotency_key_reused");
        assert.equal(refused.type, "invalid_request_error");
        assert.match(refused.message, /already used for another request/);
        assert.equal(refused.headers.get("X-Smolstep-Run-Id"), null);
        assert.equal(refused.headers.get("x-should-retry"), "false");
        assert.ok(!refused.message.includes(runId), "the first run is not named");
      }
      assert.equal(model.requests.length, calls, "the refused requests call nothing");

      // Another caller's same key is another caller's request: its own run.
      const stranger = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: OTHER_API_KEY, maxRetries: 0 });
      const theirs = await stranger.chat.completions.create(other, keyed("req-1")).withResponse();
      assert.equal(theirs.data.choices[0].message.content, "42");
      assert.notEqual(theirs.response.headers.get("X-Smolstep-Run-Id"), runId, "scoped to the caller");
    } finally {
      await app.close();
    }
  });
}

Deno.test("chat completions: the openai client's own retries after its timeout start one run, not one per attempt", async () => {
  await using model = await startScriptedModelServer();
  model.setHandler(() => ({ ...toolCallReply("final_answer", { answer: "42" }), delayMs: 600 }));
  const app = await serve("background", model);
  try {
    // Attempt 1 times out at 400 ms; the client retries (same headers) after its backoff, by when the run has ended.
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 3, timeout: 400 });
    const completion = await client.chat.completions.create(question, keyed("sdk-retries"));
    assert.equal(completion.choices[0].message.content, "42");
    assert.equal(model.requests.length, 1, "one run, one model call");
  } finally {
    await app.close();
  }
});

Deno.test("chat completions: a malformed Idempotency-Key is 400 before anything runs", async () => {
  await using model = await startScriptedModelServer();
  const app = await serve("inline", model);
  try {
    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const error = await client.chat.completions.create(question, keyed("k".repeat(201))).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError, String(error));
    assert.equal(model.requests.length, 0);
  } finally {
    await app.close();
  }
});

Deno.test("chat completions: a key claimed before bodies were compared (body in the key) still replays its run", async () => {
  await using model = await startScriptedModelServer();
  model.setHandler(() => toolCallReply("final_answer", { answer: "42" }));
  const app = await serve("inline", model);
  try {
    const api = apiClient(app.url, { apiKey: API_KEY });
    const { runId } = (await api.post("/v1/agents/assistant/runs", { task: "What is 6 x 7?" })).body;
    // The claim as a server before this change left it: under the agent (hooks/assistant/<digest>), keyed by the
    // caller, the key and the body as read, holding the run id alone.
    const claims = new DeliveryClaims(app.store, { lockTtlMs: 5_000, windowSeconds: REQUEST_KEY_WINDOW_SECONDS });
    const former = JSON.stringify(["chat.completions", `Bearer ${API_KEY}`, "before-upgrade", question]);
    const claim = await claims.claim("assistant", `request\n${former}`);
    assert.equal(claim.status, "claimed");
    if (claim.status === "claimed") await claim.complete(runId);

    const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const { data, response } = await client.chat.completions.create(question, keyed("before-upgrade"))
        .withResponse();
      assert.equal(response.headers.get("X-Smolstep-Run-Id"), runId, `attempt ${attempt}: the run claimed before`);
      assert.equal(data.choices[0].message.content, "42");
    }
    assert.equal(model.requests.length, 1, "stepped once: the second attempt found the run ended");
    // The claim now holds the body too: the key with another body is refused.
    const other = { ...question, messages: [{ role: "user" as const, content: "And 7 x 6?" }] };
    const refused = await client.chat.completions.create(other, keyed("before-upgrade")).catch((e) => e);
    assert.ok(refused instanceof OpenAI.UnprocessableEntityError, String(refused));
    assert.equal(model.requests.length, 1);
  } finally {
    await app.close();
  }
});
