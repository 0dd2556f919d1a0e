import assert from "node:assert/strict";
import { createAgents } from "../../functions/agents.ts";
import { serverOptions } from "../../functions/server_options.ts";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp, MemoryStore } from "../../lib/server.ts";
import { nestsDeeperThan } from "../../lib/json_limits.ts";
import { corsPolicy } from "../../lib/http/cors_policy.ts";
import { MAX_ADDITIONAL_ARGS, MAX_IMAGES } from "../../lib/http/http_schemas.ts";
import { DEFAULT_JSON_LIMITS, parseJsonBounded } from "../../lib/http/json_limits.ts";
import { isJsonContentType } from "../../lib/http/request_body.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { apiClient } from "../support/http_client.ts";
import { deleteFileTool, echoTool } from "../support/approval_tools.ts";
import { functionModel } from "../support/function_model.ts";
import { kvSnapshot, storeSnapshot } from "../support/kv_snapshot.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "hygiene-secret-0123456789";
const ORIGIN = "https://app.example";

function serve(options: AppOptions) {
  const app = createApp(options);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** `{"a":{"a":...1...}}` with `levels` objects. */
const nested = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

async function errorOf(response: Response) {
  const body = await response.json();
  return {
    status: response.status,
    code: body?.error?.code as string,
    allowOrigin: response.headers.get("Access-Control-Allow-Origin"),
  };
}

Deno.test("request hygiene: media types, JSON caps, CORS", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const server = serve({
    agents: createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "k" }),
    store: new DenoKvStore(kv),
    secret: SECRET,
    cors: { origin: [ORIGIN] },
  });
  const api = apiClient(server.url);
  const post = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { method: "POST", ...init, headers: { Origin: ORIGIN, ...init.headers } });

  try {
    const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "existing run" });
    const { body: stateless } = await api.post("/v1/agents/assistant/runs", { task: "x", stateless: true });
    const task = JSON.stringify({ task: "spend the user's credits" });

    await t.step(
      "attack: CORS simple requests (text/plain, form, multipart, untyped bytes) create no run: 415",
      async () => {
        const before = await kvSnapshot(kv);
        const form = new FormData();
        form.set("task", "x");
        const simpleBodies: Array<[string, RequestInit]> = [
          ["text/plain", { body: task }],
          ["text/plain with a JSON-looking parameter", {
            body: task,
            headers: { "Content-Type": "text/plain; a=application/json" },
          }],
          ["urlencoded", { body: new URLSearchParams({ task: "x" }) }],
          ["multipart", { body: form }],
          ["no Content-Type", { body: new Blob([task]) }],
        ];
        const routes = [
          "/v1/agents/assistant/runs",
          "/v1/agents/assistant/steps",
          "/v1/agents/assistant/input",
          `/v1/runs/${run.runId}/steps`,
          `/v1/runs/${run.runId}/input`,
          `/v1/runs/${run.runId}/cancel`,
        ];
        for (const path of routes) {
          for (const [label, init] of simpleBodies) {
            const refused = await errorOf(await post(path, init));
            assert.deepEqual(
              refused,
              { status: 415, code: "unsupported_media_type", allowOrigin: ORIGIN },
              `${label} ${path}`,
            );
          }
        }
        assert.deepEqual(await kvSnapshot(kv), before, "nothing was written");
        assert.equal(model.requests.length, 0, "no model call was made");
      },
    );

    await t.step("JSON with a UTF-8 charset is accepted; other charsets are 415", async () => {
      const created = await post("/v1/agents/assistant/runs", {
        body: task,
        headers: { "Content-Type": 'Application/JSON; Charset="UTF-8"' },
      });
      assert.equal(created.status, 201);
      await created.body?.cancel();
      const latin1 = await post("/v1/agents/assistant/runs", {
        body: task,
        headers: { "Content-Type": "application/json; charset=iso-8859-1" },
      });
      assert.deepEqual((await errorOf(latin1)).status, 415);
      for (const type of ["application/json", "application/json;charset=utf-8", "application/json; charset=utf8"]) {
        assert.ok(isJsonContentType(type), type);
      }
      for (
        const type of ["text/plain", "application/jsonp", "application/json, text/plain", "text/plain;application/json"]
      ) {
        assert.ok(!isJsonContentType(type), type);
      }
    });

    await t.step("a bodiless POST to steps and cancel needs no Content-Type; required bodies are 400", async () => {
      model.enqueue(toolCallReply("final_answer", { answer: "done" }));
      const stepped = await post(`/v1/runs/${run.runId}/steps`);
      assert.equal(stepped.status, 200);
      assert.equal((await stepped.json()).status, "succeeded");
      const { body: other } = await api.post("/v1/agents/assistant/runs", { task: "to cancel" });
      const cancelled = await post(`/v1/runs/${other.runId}/cancel`);
      assert.deepEqual([cancelled.status, (await cancelled.json()).status], [200, "cancelled"]);
      assert.deepEqual(await errorOf(await post("/v1/agents/assistant/runs")), {
        status: 400,
        code: "invalid_json",
        allowOrigin: ORIGIN,
      });
    });

    await t.step("signed webhooks keep their own rules: no 415 under /v1/hooks/", async () => {
      const hook = await post("/v1/hooks/assistant", { body: "{}", headers: { "Content-Type": "text/plain" } });
      assert.deepEqual([hook.status, (await hook.json()).error.code], [404, "webhook_not_configured"]);
    });

    await t.step(
      "attack: 50,000-deep additionalArgs (a stack overflow, 500, before) is 400 json_too_deep",
      async () => {
        const before = await kvSnapshot(kv);
        const deep = nested(50_000);
        const bodies: Array<[string, string]> = [
          ["/v1/agents/assistant/runs", `{"task":"x","additionalArgs":${deep}}`],
          ["/v1/agents/assistant/runs", `{"task":"x","stateless":true,"additionalArgs":${deep}}`],
          ["/v1/agents/assistant/steps", `{"state":${JSON.stringify(stateless.state)},"x":${deep}}`],
          ["/v1/agents/assistant/input", `{"state":"s","approve":true,"reason":${deep}}`],
          [`/v1/runs/${run.runId}/steps`, deep],
          [`/v1/runs/${run.runId}/input`, `[${"[".repeat(70_000)}`],
        ];
        for (const [path, body] of bodies) {
          const refused = await errorOf(await post(path, { body, headers: { "Content-Type": "application/json" } }));
          assert.deepEqual(refused, { status: 400, code: "json_too_deep", allowOrigin: ORIGIN }, path);
        }
        assert.deepEqual(await kvSnapshot(kv), before, "nothing was written");
      },
    );

    await t.step("nesting up to the cap works end to end: the model sees the arguments", async () => {
      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: "deep enough" }));
      // The body object is one level: 63 more reach the cap of 64 exactly.
      const args = nested(DEFAULT_JSON_LIMITS.maxDepth - 1);
      const created = await api.post("/v1/agents/assistant/runs", `{"task":"x","additionalArgs":${args}}`);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const step = await api.post(`/v1/runs/${created.body.runId}/steps`);
      assert.equal(step.body.finalAnswer, "deep enough");
      const taskText = String(model.requests[0].body.messages![1].content);
      assert.equal(taskText.match(/"a":/g)?.length, DEFAULT_JSON_LIMITS.maxDepth - 1, "every level reached the model");
      const over = await api.post("/v1/agents/assistant/runs", `{"task":"x","additionalArgs":{"b":${args}}}`);
      assert.deepEqual([over.status, over.body.error.code], [400, "json_too_deep"]);
    });

    await t.step(
      "too many entries is 400 json_too_large, too many args or images 400; malformed JSON is 400 invalid_json",
      async () => {
        const many = `{"task":"x","additionalArgs":{"list":[${"0,".repeat(DEFAULT_JSON_LIMITS.maxEntries)}0]}}`;
        const large = await api.post("/v1/agents/assistant/runs", many);
        assert.deepEqual([large.status, large.body.error.code], [400, "json_too_large"]);
        const args = Object.fromEntries(Array.from({ length: MAX_ADDITIONAL_ARGS + 1 }, (_, i) => [`a${i}`, i]));
        for (
          const body of [{ additionalArgs: args }, { images: Array(MAX_IMAGES + 1).fill("https://x.example/a.png") }]
        ) {
          const refused = await api.post("/v1/agents/assistant/runs", { task: "x", ...body });
          assert.deepEqual([refused.status, refused.body.error.code], [400, "invalid_request"]);
        }
        const malformed = await api.post("/v1/agents/assistant/runs", '{"task": "x",');
        assert.deepEqual([malformed.status, malformed.body.error.code], [400, "invalid_json"]);
      },
    );

    await t.step("preflight: client headers allowed, cached with Max-Age, methods of the API only", async () => {
      const preflight = await fetch(`${server.url}/v1/runs/${run.runId}/steps`, {
        method: "OPTIONS",
        headers: {
          Origin: ORIGIN,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
      });
      await preflight.body?.cancel();
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), ORIGIN);
      assert.equal(preflight.headers.get("Access-Control-Max-Age"), "7200");
      assert.deepEqual(
        preflight.headers.get("Access-Control-Allow-Headers")?.toLowerCase().split(","),
        ["authorization", "content-type", "idempotency-key", "last-event-id", "mcp-protocol-version"],
      );
      assert.equal(preflight.headers.get("Access-Control-Allow-Methods"), "GET,HEAD,POST,DELETE");
      const refused = await fetch(`${server.url}/v1/agents`, {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
      });
      await refused.body?.cancel();
      assert.equal(refused.headers.get("Access-Control-Allow-Origin"), null);
    });

    await t.step("responses expose the headers the typed client reads (Idempotent-Replayed)", async () => {
      const { body: fresh } = await api.post("/v1/agents/assistant/runs", { task: "replay me" });
      model.enqueue(toolCallReply("final_answer", { answer: "once" }));
      const headers = { Origin: ORIGIN, "Idempotency-Key": "k-1" };
      const first = await post(`/v1/runs/${fresh.runId}/steps`, { headers });
      await first.body?.cancel();
      const replay = await post(`/v1/runs/${fresh.runId}/steps`, { headers });
      await replay.body?.cancel();
      assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
      const exposed = replay.headers.get("Access-Control-Expose-Headers")?.toLowerCase().split(",") ?? [];
      for (const name of ["idempotent-replayed", "location", "retry-after"]) assert.ok(exposed.includes(name), name);
      // The client's own list of response headers it reads: every one must be exposed.
      const clientSource = await Deno.readTextFile(new URL("../../lib/client.ts", import.meta.url));
      const read = [...clientSource.matchAll(/headers\.get\("([^"]+)"\)/g)].map((m) => m[1].toLowerCase());
      assert.ok(read.length > 0);
      for (const name of read) assert.ok(exposed.includes(name), `the client reads ${name}, which is not exposed`);
    });

    await t.step("a cross-origin chat completion exposes its run and request ids (and x-should-retry)", async () => {
      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: "seen from a page" }));
      const response = await post("/v1/chat/completions", {
        headers: { "Content-Type": "application/json", "X-Request-Id": "page-request-1" },
        body: JSON.stringify({ model: "assistant", messages: [{ role: "user", content: "hi" }] }),
      });
      const completion = await response.json();
      assert.equal(completion.choices[0].message.content, "seen from a page");
      assert.equal(response.headers.get("Access-Control-Allow-Origin"), ORIGIN);
      assert.equal(response.headers.get("X-Request-Id"), "page-request-1");
      assert.ok(response.headers.get("X-Smolstep-Run-Id"));
      // What a browser lets the page read: the safelisted headers and the exposed ones.
      const exposed = response.headers.get("Access-Control-Expose-Headers")?.toLowerCase().split(",") ?? [];
      for (const name of ["x-request-id", "x-smolstep-run-id", "x-should-retry"]) {
        assert.ok(exposed.includes(name), `${name} is not exposed`);
      }
    });
  } finally {
    await server.close();
    kv.close();
    await model.close();
  }
});

Deno.test("CORS defaults are merged into the deployer's options (and SMOLSTEP_CORS_MAX_AGE)", () => {
  const merged = corsPolicy({ origin: [ORIGIN], exposeHeaders: ["X-Trace", "location"], allowHeaders: ["X-Tenant"] });
  assert.deepEqual(merged.origin, [ORIGIN]);
  assert.deepEqual(merged.exposeHeaders, [
    "Idempotent-Replayed",
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-Id",
    "X-Smolstep-Run-Id",
    "x-should-retry",
    "X-Trace",
  ]);
  assert.deepEqual(merged.allowHeaders, [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "Last-Event-ID",
    "Mcp-Protocol-Version",
    "X-Tenant",
  ]);
  assert.equal(merged.maxAge, 7200);
  assert.equal(corsPolicy({ maxAge: 60 }).maxAge, 60);
  assert.equal(corsPolicy(true).origin, "*");
  const fromEnv = serverOptions({ SMOLSTEP_CORS_ORIGINS: ORIGIN, SMOLSTEP_CORS_MAX_AGE: "60" }, []).cors!;
  assert.deepEqual([corsPolicy(fromEnv).origin, corsPolicy(fromEnv).maxAge], [[ORIGIN], 60]);
  assert.equal(corsPolicy(serverOptions({ SMOLSTEP_CORS_ORIGINS: "*" }, []).cors!).maxAge, 7200);
});

Deno.test("parseJsonBounded counts depth and entries outside strings only", async (t) => {
  const code = (text: string, limits = {}) => {
    try {
      parseJsonBounded(text, limits);
      return "ok";
    } catch (error) {
      return (error as { code: string }).code;
    }
  };
  await t.step("depth", () => {
    assert.equal(code("[[[]]]", { maxDepth: 3 }), "ok");
    assert.equal(code("[[[[]]]]", { maxDepth: 3 }), "json_too_deep");
    assert.equal(code('{"a":"[[[[{{{{"}', { maxDepth: 1 }), "ok", "brackets in strings do not count");
    assert.equal(code('["\\"[[[[", "\\\\", []]', { maxDepth: 1 }), "json_too_deep", "escapes end where they should");
    assert.equal(code('["\\"[[[[", "\\\\", 1]', { maxDepth: 1 }), "ok");
  });
  await t.step("entries", () => {
    assert.equal(code("[1,2,3]", { maxEntries: 3 }), "ok");
    assert.equal(code("[1,2,3,4]", { maxEntries: 3 }), "json_too_large");
    assert.equal(code('{"a":[],"b":{}}', { maxEntries: 2 }), "ok", "empty containers have no entries");
    assert.equal(code('{"a":[1],"b":{}}', { maxEntries: 2 }), "json_too_large");
    assert.equal(code('["a,b,c,d"]', { maxEntries: 1 }), "ok", "commas in strings do not count");
    assert.equal(code("[ ]", { maxEntries: 0 }), "ok");
  });
  await t.step("malformed and unbalanced text is invalid_json", () => {
    assert.equal(code("]]][[[1"), "invalid_json");
    assert.equal(code('"unterminated'), "invalid_json");
    assert.deepEqual(parseJsonBounded('{"a":[1,"x",null]}'), { a: [1, "x", null] });
  });
  await t.step("a large document within the caps parses as JSON.parse would", () => {
    const text = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ i, s: 'x,[{\\"' })));
    assert.deepEqual(parseJsonBounded(text), JSON.parse(text));
  });
});

Deno.test("a refused answer to an approval (400 invalid_input) puts the run back byte for byte", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const { model } = functionModel([{ calls: [["delete_file", { path: "/x" }]] }]);
  const app = createApp({
    agents: { ops: new ToolCallingAgent({ name: "ops", model, tools: [deleteFileTool()] }) },
    store,
  });
  const post = async (path: string, body?: unknown) => {
    const init = body === undefined
      ? {}
      : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const response = await app.request(path, { method: "POST", ...init });
    return { status: response.status, body: await response.json() };
  };
  try {
    const { body: run } = await post("/v1/agents/ops/runs", { task: "clean up" });
    assert.equal((await post(`/v1/runs/${run.runId}/steps`)).body.status, "awaiting_input");
    const before = await storeSnapshot(kv, store);
    const refused = await post(`/v1/runs/${run.runId}/input`, { answer: "an answer where a decision is due" });
    assert.deepEqual([refused.status, refused.body.error.code], [400, "invalid_input"]);
    assert.deepEqual(await storeSnapshot(kv, store), before);
  } finally {
    kv.close();
  }
});

Deno.test("attack: a model's tool call nested 50,000 deep (a 500 and a stuck lock, before) is an error the model sees", async () => {
  const model = await startScriptedModelServer();
  const deep = `{"text":${nested(50_000)}}`;
  model.enqueue(
    toolCallReply("echo", deep),
    { content: `Thought: again, as text.\nAction:\n{"name": "echo", "arguments": ${deep}}` },
    toolCallReply("final_answer", { answer: "flat at last" }),
  );
  const agent = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [echoTool],
  });
  const server = serve({ agents: { ops: agent }, store: new MemoryStore() });
  const api = apiClient(server.url);
  try {
    const { body: run } = await api.post("/v1/agents/ops/runs", { task: "echo something" });
    for (let i = 0; i < 2; i++) {
      const step = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(step.status, 200, JSON.stringify(step.body).slice(0, 300));
      assert.equal(step.body.step.error.type, "AgentParsingError");
      assert.match(step.body.step.error.message, /nest deeper than 64 levels/);
    }
    const done = await api.post(`/v1/runs/${run.runId}/steps`);
    assert.deepEqual([done.status, done.body.finalAnswer], [200, "flat at last"]);
    assert.match(JSON.stringify(model.requests[2].body.messages), /nest deeper than 64 levels/, "the model saw why");
  } finally {
    await server.close();
    await model.close();
  }
});

Deno.test("nestsDeeperThan walks parsed values without recursion", () => {
  assert.equal(nestsDeeperThan({ a: [1, { b: 2 }] }, 3), false);
  assert.equal(nestsDeeperThan({ a: [1, { b: [] }] }, 3), true);
  assert.equal(nestsDeeperThan("[[[[", 1), false, "strings are values, not structure");
  assert.equal(nestsDeeperThan(JSON.parse(nested(100_000)), 64), true);
});
