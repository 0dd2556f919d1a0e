import assert from "node:assert/strict";
import { z } from "zod";
import { OpenAIServerModel, tool, ToolCallingAgent, UserInputTool } from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { Hono } from "hono";
import { ERROR_STATUS, errorHandler } from "../../lib/http/http_errors.ts";
import { REQUEST_BODIES } from "../../lib/http/openapi_components.ts";
import { readJson } from "../../lib/http/request_body.ts";
import { ROUTE_ERROR_STATUS, ROUTES } from "../../lib/http/openapi_route_table.ts";
import { mcpServer } from "../../lib/mcp/server/mod.ts";
import { serveBackground } from "../support/background_app.ts";
import { apiClient } from "../support/http_client.ts";
import {
  checkResponse,
  documentedRoutes,
  documentValidator,
  findOperation,
  type Json,
  mountedRoutes,
  oas31Validator,
} from "../support/openapi_validation.ts";
import { idleAgent } from "../support/idle_agent.ts";
import { postHook, standardHeaders } from "../support/webhook_senders.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const API_KEY = "openapi-test-key";

Deno.test("GET /openapi.json: every route, and real responses validate against it", async (t) => {
  const model = await startScriptedModelServer();
  const deleteFile = tool({
    name: "delete_file",
    description: "Deletes a file.",
    inputs: z.object({ path: z.string() }),
    needsApproval: ({ path }) => !path.startsWith("/tmp/"),
    run: ({ path }) => `deleted ${path}`,
  });
  const agent = new ToolCallingAgent({
    name: "ops",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [deleteFile, new UserInputTool()],
  });
  const app = createApp({
    agents: { ops: agent },
    store: new MemoryStore(),
    secret: "openapi-secret-0123456789",
    apiKeys: [API_KEY],
    events: { pollMs: 20, maxDurationMs: 2_000 },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const api = apiClient(base, { apiKey: API_KEY });

  try {
    // Public: no API key.
    const docResponse = await fetch(`${base}/openapi.json`);
    assert.equal(docResponse.status, 200);
    assert.match(docResponse.headers.get("Content-Type") ?? "", /^application\/json/);
    const doc: Json = await docResponse.json();

    const compile = documentValidator(doc);
    const checked: string[] = [];
    /** Validates a response against the document's schema for its route, status and media type. */
    const check = (method: string, path: string, status: number, body: unknown, media = "application/json") => {
      const operation = findOperation(doc, method, path);
      const response = operation.responses[String(status)];
      assert.ok(response, `${method} ${path}: status ${status} is not documented`);
      if (body === null) {
        assert.equal(response.content, undefined, `${method} ${path} ${status} documents a body`);
        checked.push(`${method} ${status}`);
        return;
      }
      const schema = response.content?.[media]?.schema;
      assert.ok(schema, `${method} ${path} ${status}: no ${media} schema`);
      const validate = compile(schema);
      assert.ok(
        validate(body),
        `${method} ${path} ${status}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`,
      );
      checked.push(`${method} ${status}`);
    };
    const componentValidator = (name: string) => compile({ $ref: `#/components/schemas/${name}` });

    await t.step("a direct tool call validates (POST /v1/tools/{name})", async () => {
      const response = await api.post("/v1/tools/delete_file", { arguments: { path: "notes.txt" } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.tool, "delete_file");
      check("POST", "/v1/tools/delete_file", 200, response.body);
    });

    await t.step("the document is OpenAPI 3.1 in shape, and every $ref resolves", () => {
      const oas31 = oas31Validator();
      assert.ok(oas31(doc), JSON.stringify(oas31.errors?.slice(0, 5)));
      assert.equal(oas31({ ...doc, info: undefined }), false, "the OAS schema bites");
      assert.equal(oas31({ ...doc, paths: { "/x": { get: { responses: { 200: {} } } } } }), false);
      assert.equal(doc.openapi, "3.1.0");
      assert.equal(typeof doc.info.title, "string");
      assert.equal(typeof doc.info.version, "string");
      assert.ok(Object.keys(doc.paths).length > 0);
      assert.ok(doc.components.schemas.Error);
      assert.deepEqual(doc.components.securitySchemes, { apiKey: { type: "http", scheme: "bearer" } });
      for (const [path, item] of Object.entries<Json>(doc.paths)) {
        assert.match(path, /^\/[\w/{}.-]*$/);
        for (const [method, op] of Object.entries<Json>(item)) {
          assert.ok(["get", "post", "delete"].includes(method));
          assert.equal(typeof op.operationId, "string");
          assert.ok(Object.keys(op.responses).length > 0, `${method} ${path}: no responses`);
          for (const status of Object.keys(op.responses)) assert.match(status, /^[1-5]\d\d$/);
          for (const name of path.matchAll(/\{(\w+)\}/g)) {
            assert.ok(op.parameters.some((p: Json) => p.in === "path" && p.name === name[1] && p.required));
          }
        }
      }
      const ids = Object.values<Json>(doc.paths).flatMap((item) =>
        Object.values<Json>(item).map((op) => op.operationId)
      );
      assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
      const text = JSON.stringify(doc);
      for (const [, name] of text.matchAll(/"#\/components\/schemas\/(\w+)"/g)) {
        assert.ok(doc.components.schemas[name], `dangling $ref to ${name}`);
      }
      // Every schema compiles (ajv resolves every reference).
      for (const name of Object.keys(doc.components.schemas)) componentValidator(name);
    });

    await t.step("every route the app mounts is documented with its method, and nothing else", () => {
      assert.deepEqual(documentedRoutes(doc), mountedRoutes(app));
      for (const route of ["get /health", "get /metrics", "get /v1/agents", "post /v1/runs/{runId}/steps"]) {
        assert.ok(documentedRoutes(doc).includes(route), route);
      }
    });

    await t.step("error codes: each documented under its status, the same as ERROR_STATUS", () => {
      for (const [code, status] of Object.entries(ROUTE_ERROR_STATUS)) {
        if (code in ERROR_STATUS) assert.equal(ERROR_STATUS[code], status, code);
      }
      for (const route of ROUTES) {
        const op = findOperation(doc, route.method, route.path.replace(/:(\w+)/g, "x"));
        for (const code of [...route.errors, "internal_error"]) {
          const status = ERROR_STATUS[code] ?? ROUTE_ERROR_STATUS[code];
          const codes = op.responses[String(status)]?.content["application/json"].schema.allOf[1].properties.error
            .properties.code.enum;
          assert.ok(codes?.includes(code), `${route.method} ${route.path}: ${code} not under ${status}`);
        }
      }
      // Response headers the routes set.
      assert.ok(doc.paths["/v1/agents/{name}/runs"].post.responses["201"].headers.Location);
      assert.ok(doc.paths["/v1/runs/{runId}/steps"].post.responses["200"].headers["Idempotent-Replayed"]);
      assert.ok(doc.paths["/v1/runs/{runId}/steps"].post.responses["503"].headers["Retry-After"]);
      assert.ok(doc.paths["/v1/hooks/{name}"].post.responses["409"].headers["Retry-After"]);
      // The step routes document the token stream (Round 3) next to their JSON answer.
      for (const path of ["/v1/runs/{runId}/steps", "/v1/agents/{name}/steps", "/v1/runs/{runId}/input"]) {
        const content = doc.paths[path].post.responses["200"].content;
        assert.ok(content["application/json"] && content["text/event-stream"], path);
        assert.deepEqual(Object.keys(content["text/event-stream"]["x-sse-events"]), ["delta", "step", "error"]);
      }
      assert.deepEqual(
        Object.keys(
          doc.paths["/v1/runs/{runId}/events"].get.responses["200"].content["text/event-stream"]["x-sse-events"],
        ),
        ["step", "awaiting_input", "delta", "end"],
      );
    });

    await t.step("real responses validate: health, agents, a KV run stepped to its answer, read, events", async () => {
      const health = await fetch(`${base}/health`);
      check("GET", "/health", health.status, await health.json());
      const agents = await api.get("/v1/agents");
      check("GET", "/v1/agents", agents.status, agents.body);

      model.reset();
      model.enqueue(toolCallReply("delete_file", { path: "/tmp/a" }), toolCallReply("final_answer", { answer: "ok" }));
      const created = await api.post("/v1/agents/ops/runs", { task: "clean up" });
      assert.equal(created.status, 201);
      check("POST", "/v1/agents/ops/runs", created.status, created.body);
      const runId = created.body.runId;
      for (let i = 0; i < 2; i++) {
        const step = await api.post(`/v1/runs/${runId}/steps`);
        assert.equal(step.status, 200);
        check("POST", `/v1/runs/${runId}/steps`, step.status, step.body);
      }
      const run = await api.get(`/v1/runs/${runId}`);
      assert.equal(run.body.status, "succeeded");
      check("GET", `/v1/runs/${runId}`, run.status, run.body);

      const events = await fetch(`${base}/v1/runs/${runId}/events`, {
        headers: { Authorization: `Bearer ${API_KEY}` },
      });
      assert.equal(events.status, 200);
      check("GET", `/v1/runs/${runId}/events`, 200, await events.text(), "text/event-stream");
      const sse = doc.paths["/v1/runs/{runId}/events"].get.responses["200"].content["text/event-stream"];
      const eventSchemas: Record<string, Json> = sse["x-sse-events"];
      const text = await (await fetch(`${base}/v1/runs/${runId}/events`, {
        headers: { Authorization: `Bearer ${API_KEY}` },
      })).text();
      const blocks = text.split("\n\n").filter((b) => b.trim());
      assert.ok(blocks.length >= 2);
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)![1];
        const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]);
        const validate = compile(eventSchemas[event]);
        assert.ok(validate(data), `event ${event}: ${JSON.stringify(validate.errors)}`);
      }
    });

    await t.step("real responses validate: approval, question, cancel, delete, stateless", async () => {
      model.reset();
      model.enqueue(
        toolCallReply("delete_file", { path: "/etc/x" }),
        toolCallReply("user_input", { question: "Sure?" }),
        toolCallReply("final_answer", { answer: "done" }),
      );
      const { body: run } = await api.post("/v1/agents/ops/runs", { task: "risky" });
      const paused = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(paused.body.status, "awaiting_input");
      assert.equal(paused.body.pendingInput.kind, "approval");
      check("POST", `/v1/runs/${run.runId}/steps`, paused.status, paused.body);
      const approved = await api.post(`/v1/runs/${run.runId}/input`, { approve: true });
      check("POST", `/v1/runs/${run.runId}/input`, approved.status, approved.body);
      const asked = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(asked.body.pendingInput?.kind, "question");
      check("POST", `/v1/runs/${run.runId}/steps`, asked.status, asked.body);
      const read = await api.get(`/v1/runs/${run.runId}`);
      check("GET", `/v1/runs/${run.runId}`, read.status, read.body);
      const cancelled = await api.post(`/v1/runs/${run.runId}/cancel`);
      assert.equal(cancelled.status, 200);
      check("POST", `/v1/runs/${run.runId}/cancel`, cancelled.status, cancelled.body);
      const deleted = await api.delete(`/v1/runs/${run.runId}`);
      assert.equal(deleted.status, 204);
      check("DELETE", `/v1/runs/${run.runId}`, deleted.status, null);

      model.reset();
      model.enqueue(toolCallReply("final_answer", { answer: "stateless ok" }));
      const started = await api.post("/v1/agents/ops/runs", { task: "quick", stateless: true });
      assert.equal(started.status, 201);
      check("POST", "/v1/agents/ops/runs", started.status, started.body);
      const step = await api.post("/v1/agents/ops/steps", { state: started.body.state });
      assert.equal(step.status, 200);
      check("POST", "/v1/agents/ops/steps", step.status, step.body);

      // Runs created with their first step answer with that step.
      model.enqueue(toolCallReply("user_input", { question: "KV?" }), toolCallReply("user_input", { question: "St?" }));
      for (const stateless of [false, true]) {
        const first = await api.post("/v1/agents/ops/runs", { task: "first", stateless, firstStep: true });
        assert.deepEqual([first.status, first.body.status], [201, "awaiting_input"]);
        assert.equal(typeof (stateless ? first.body.state : first.body.runId), "string");
        check("POST", "/v1/agents/ops/runs", first.status, first.body);
      }
      // Streamed (`Accept: text/event-stream`), the first step is a 200 event stream whose events the document names.
      model.enqueue(toolCallReply("user_input", { question: "KV?" }), toolCallReply("user_input", { question: "St?" }));
      for (const stateless of [false, true]) {
        const streamed = await fetch(`${base}/v1/agents/ops/runs`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${API_KEY}`,
            "Content-Type": "application/json",
            Accept: "text/event-stream",
          },
          body: JSON.stringify({ task: "first", stateless, firstStep: true }),
        });
        assert.equal(streamed.status, 200);
        const text = await streamed.text();
        check("POST", "/v1/agents/ops/runs", 200, text, "text/event-stream");
        const events = findOperation(doc, "POST", "/v1/agents/ops/runs").responses["200"].content["text/event-stream"][
          "x-sse-events"
        ];
        assert.deepEqual(Object.keys(events), ["delta", "step", "error"]);
        const blocks = text.split("\n\n").filter((block) => block.trim());
        assert.match(blocks.at(-1)!, /^event: step$/m);
        for (const block of blocks) {
          const event = /^event: (.*)$/m.exec(block)![1];
          const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]);
          const validate = compile(events[event]);
          assert.ok(validate(data), `event ${event}: ${JSON.stringify(validate.errors)}`);
        }
      }
    });

    await t.step(
      "real errors validate, with their code documented for the route: 400, 401, 404, 409, 415",
      async () => {
        const cases: Array<[string, string, () => Promise<{ status: number; body: Json }>, number, string]> = [
          ["POST", "/v1/agents/ops/runs", () => api.post("/v1/agents/ops/runs", { task: "" }), 400, "invalid_request"],
          ["POST", "/v1/agents/ops/runs", () => api.post("/v1/agents/ops/runs", "{"), 400, "invalid_json"],
          [
            "POST",
            "/v1/agents/nobody/runs",
            () => api.post("/v1/agents/nobody/runs", { task: "x" }),
            404,
            "agent_not_found",
          ],
          ["GET", "/v1/runs/missing", () => api.get("/v1/runs/missing"), 404, "run_not_found"],
          ["POST", "/v1/runs/missing/steps", () => api.post("/v1/runs/missing/steps"), 404, "run_not_found"],
          [
            "POST",
            "/v1/agents/ops/steps",
            () => api.post("/v1/agents/ops/steps", { state: "bogus" }),
            400,
            "invalid_token",
          ],
          ["GET", "/v1/agents", () => apiClient(base).get("/v1/agents"), 401, "unauthorized"],
          [
            "POST",
            "/v1/agents/ops/runs",
            async () => {
              const response = await fetch(`${base}/v1/agents/ops/runs`, {
                method: "POST",
                headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "text/plain" },
                body: "task=x",
              });
              return { status: response.status, body: await response.json() };
            },
            415,
            "unsupported_media_type",
          ],
        ];
        model.reset();
        model.enqueue(toolCallReply("final_answer", { answer: "ok" }));
        const { body: run } = await api.post("/v1/agents/ops/runs", { task: "short" });
        await api.post(`/v1/runs/${run.runId}/steps`);
        cases.push(
          ["POST", `/v1/runs/${run.runId}/steps`, () => api.post(`/v1/runs/${run.runId}/steps`), 409, "run_finished"],
          [
            "POST",
            `/v1/runs/${run.runId}/input`,
            () => api.post(`/v1/runs/${run.runId}/input`, { approve: true }),
            409,
            "not_awaiting_input",
          ],
        );
        // The same refusals of a stateless run: its ended token, on the step route and the input route.
        model.enqueue(toolCallReply("final_answer", { answer: "ok" }));
        const stateless = await api.post("/v1/agents/ops/runs", { task: "short", stateless: true });
        const ended = (await api.post("/v1/agents/ops/steps", { state: stateless.body.state })).body.state;
        cases.push(
          [
            "POST",
            "/v1/agents/ops/steps",
            () => api.post("/v1/agents/ops/steps", { state: ended }),
            409,
            "run_finished",
          ],
          [
            "POST",
            "/v1/agents/ops/input",
            () => api.post("/v1/agents/ops/input", { state: ended, approve: true }),
            409,
            "not_awaiting_input",
          ],
        );
        cases.push(
          [
            "POST",
            "/v1/tools/nothing",
            () => api.post("/v1/tools/nothing", { arguments: {} }),
            404,
            "tool_not_found",
          ],
          [
            "POST",
            "/v1/tools/delete_file",
            () => api.post("/v1/tools/delete_file", { arguments: { nope: 1 } }),
            400,
            "invalid_arguments",
          ],
          [
            "POST",
            "/v1/tools/user_input",
            () => api.post("/v1/tools/user_input", { arguments: { question: "?" } }),
            403,
            "direct_calls_disabled",
          ],
        );
        for (const [method, path, send, status, code] of cases) {
          const response = await send();
          assert.equal(response.status, status, `${method} ${path}: ${JSON.stringify(response.body)}`);
          assert.equal(response.body.error.code, code);
          check(method, path, response.status, response.body);
        }
      },
    );

    await t.step("request bodies: the document accepts and refuses what the routes accept and refuse", async () => {
      const schemaOf = (path: string) =>
        compile(findOperation(doc, "POST", path).requestBody.content["application/json"].schema);
      const createRun = schemaOf("/v1/agents/ops/runs");
      const bodies: Array<[unknown, boolean]> = [
        [{ task: "x", maxSteps: 3, additionalArgs: { a: 1 }, images: ["data:image/png;base64,AA=="] }, true],
        [{ task: "x", maxIterations: 1000 }, true],
        [{ task: "" }, false],
        [{ task: "x", extra: 1 }, false],
        [{ task: "x", maxSteps: 0 }, false],
        [{ task: "x", maxSteps: 1001 }, false],
        [{ task: "x", maxSteps: 2.5 }, false],
        [{ task: "x", images: ["http://example.com/a.png"] }, false],
        [{ task: "x", additionalArgs: { "": 1 } }, false],
        [{ task: 1 }, false],
        [{}, false],
      ];
      for (const [body, valid] of bodies) {
        assert.equal(createRun(body), valid, `document on ${JSON.stringify(body)}`);
        const response = await api.post("/v1/agents/ops/runs", body);
        assert.equal(response.status, valid ? 201 : 400, `app on ${JSON.stringify(body)}`);
      }
      model.reset();
      model.enqueue(toolCallReply("delete_file", { path: "/etc/y" }));
      const { body: run } = await api.post("/v1/agents/ops/runs", { task: "input bodies" });
      await api.post(`/v1/runs/${run.runId}/steps`);
      const input = schemaOf(`/v1/runs/${run.runId}/input`);
      for (const body of [{ approve: "yes" }, { answer: 1 }, { approve: true, answer: "x" }, { reason: "r" }, {}]) {
        assert.equal(input(body), false, JSON.stringify(body));
        assert.equal((await api.post(`/v1/runs/${run.runId}/input`, body)).status, 400, JSON.stringify(body));
      }
      assert.equal(input({ approve: false, reason: "no" }), true);
      assert.equal((await api.post(`/v1/runs/${run.runId}/input`, { approve: false, reason: "no" })).status, 200);
      const step = schemaOf(`/v1/runs/${run.runId}/steps`);
      assert.equal(step({}), true);
      assert.equal(step({ extra: 1 }), false);
      assert.equal((await api.post(`/v1/runs/${run.runId}/steps`, { extra: 1 })).status, 400);
      const stateless = schemaOf("/v1/agents/ops/steps");
      for (const body of [{ state: "" }, { state: "t", extra: 1 }, {}]) {
        assert.equal(stateless(body), false, JSON.stringify(body));
        assert.equal((await api.post("/v1/agents/ops/steps", body)).status, 400, JSON.stringify(body));
      }
    });

    await t.step("GET /docs: a self-contained page that loads the document from the app", async () => {
      const response = await fetch(`${base}/docs`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("Content-Type") ?? "", /^text\/html/);
      const html = await response.text();
      assert.ok(html.includes('fetch("openapi.json")'));
      assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)=/i, "the page loads nothing but the document");
      assert.ok(html.length < 8 * 1024, `${html.length} bytes`);
      // Only the page's own inline script and style may run: allowed by hash, never 'unsafe-inline'.
      const csp = response.headers.get("Content-Security-Policy") ?? "";
      assert.match(csp, /default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-/);
      assert.doesNotMatch(csp, /unsafe/);
      assert.equal(response.headers.get("X-Content-Type-Options"), "nosniff");
    });

    assert.ok(checked.length >= 20, checked.join(", "));
  } finally {
    await server.shutdown();
    await model.close();
  }
});

Deno.test("openapi: false serves neither the document nor the docs; the document follows the app's options", async () => {
  const agent = new ToolCallingAgent({
    name: "a",
    model: new OpenAIServerModel({ modelId: "m", apiBase: "http://127.0.0.1:9", apiKey: "k" }),
    tools: [],
  });
  const off = createApp({ agents: { a: agent }, openapi: false });
  assert.equal((await off.request("/openapi.json")).status, 404);
  assert.equal((await off.request("/docs")).status, 404);
  assert.ok(!mountedRoutes(off).some((r) => r.includes("openapi") || r.includes("docs")));

  const bare = createApp({ agents: { a: agent }, metrics: false });
  const doc = await (await bare.request("/openapi.json")).json();
  assert.deepEqual(documentedRoutes(doc), mountedRoutes(bare));
  assert.ok(oas31Validator()(doc));
  assert.equal(doc.paths["/metrics"], undefined);
  assert.equal(doc.components.securitySchemes, undefined);
  assert.deepEqual(doc.paths["/v1/agents"].get.security, []);
  assert.equal(doc.paths["/v1/agents"].get.responses["401"], undefined);
});

Deno.test("openapi: a plugin's routes (the MCP server) are documented, behind the API key", async () => {
  const agent = new ToolCallingAgent({
    name: "a",
    model: new OpenAIServerModel({ modelId: "m", apiBase: "http://127.0.0.1:9", apiKey: "k" }),
    tools: [],
  });
  const app = createApp({ agents: { a: agent }, apiKeys: [API_KEY], plugins: [mcpServer()] });
  const doc = await (await app.request("/openapi.json")).json();
  assert.deepEqual(documentedRoutes(doc), mountedRoutes(app));
  assert.ok(oas31Validator()(doc));
  for (const method of ["post", "get", "delete"]) {
    const op = doc.paths["/mcp"][method];
    assert.deepEqual(op.security, [{ apiKey: [] }], method);
    assert.ok(op.responses["401"], method);
  }
  assert.ok(doc.paths["/mcp"].get.responses["405"]);
  assert.equal((await app.request("/mcp", { method: "POST" })).status, 401);
});

Deno.test("openapi: webhook deliveries and background runs validate against the document", async () => {
  const model = await startScriptedModelServer();
  const secret = "openapi-hook-secret";
  const agent = new ToolCallingAgent({
    name: "bg",
    model: new OpenAIServerModel({ modelId: "m", apiBase: model.url, apiKey: "k", maxRetries: 0 }),
    tools: [],
  });
  const served = serveBackground({
    agents: { bg: agent },
    store: new MemoryStore(),
    webhooks: { bg: { task: "Handle {{title}}", secret } },
  });
  try {
    const doc = await (await fetch(`${served.url}/openapi.json`)).json();
    model.enqueue(toolCallReply("final_answer", { answer: "a" }), toolCallReply("final_answer", { answer: "b" }));
    const background = await served.api.post("/v1/agents/bg/runs", { task: "later", background: true });
    assert.equal(background.status, 201);
    checkResponse(doc, "POST", "/v1/agents/bg/runs", 201, background.body);

    const body = JSON.stringify({ title: "an issue" });
    const headers = standardHeaders(secret, body);
    const first = await postHook(`${served.url}/v1/hooks/bg`, body, headers);
    assert.equal(first.status, 202);
    checkResponse(doc, "POST", "/v1/hooks/bg", 202, first.body);
    const again = await postHook(`${served.url}/v1/hooks/bg`, body, headers);
    assert.equal(again.status, 200);
    checkResponse(doc, "POST", "/v1/hooks/bg", 200, again.body);
    const forged = await postHook(`${served.url}/v1/hooks/bg`, body, standardHeaders("another-secret", body));
    assert.equal(forged.status, 401);
    checkResponse(doc, "POST", "/v1/hooks/bg", 401, forged.body);
  } finally {
    await served.close();
    await model.close();
  }
});

Deno.test("request bodies are validated with the very schema objects the document shows, and only those", async (t) => {
  const app = createApp({ agents: { a: idleAgent() }, store: new MemoryStore(), secret: "openapi-secret-0123456789" });
  const doc = await (await app.request("/openapi.json")).json();
  const compile = documentValidator(doc);
  const withBody = ROUTES.filter((route) => route.body);

  await t.step(
    "each route with a body refuses, as its documented schema does, a body that schema refuses",
    async () => {
      assert.deepEqual(withBody.map((route) => route.body).sort(), [...REQUEST_BODIES].sort(), "every body is used");
      for (const route of withBody) {
        const path = route.path.replace(":name", "a").replace(":runId", "run-1");
        const schema = findOperation(doc, route.method, path).requestBody.content["application/json"].schema;
        // The table's schema object is the component the document shows.
        assert.deepEqual(schema, { $ref: `#/components/schemas/${route.body}` });
        const body = { unknownField: 1 };
        assert.equal(compile(schema)(body), false);
        const response = await app.request(path, {
          method: route.method.toUpperCase(),
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        const answer = await response.json();
        // A handler reading another body than the documented one is a 500 (readJson checks the table first).
        assert.equal(response.status, 400, `${route.method} ${route.path}: ${JSON.stringify(answer)}`);
        assert.equal(answer.error.code, "invalid_request");
        assert.match(answer.error.message, /^Invalid request body: /);
      }
    },
  );

  await t.step("a handler that reads a body its route does not document is refused", async () => {
    const wrong = new Hono();
    wrong.onError(errorHandler);
    wrong.post("/v1/runs/:runId/steps", async (c) => c.json(await readJson(c, "InputBody")));
    wrong.post("/v1/undocumented", async (c) => c.json(await readJson(c, "StepBody")));
    wrong.post("/v1/runs/:runId/input", async (c) => c.json(await readJson(c, "InputBody")));
    const send = (path: string, body: unknown) =>
      wrong.request(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const originalError = console.error;
    console.error = () => {};
    try {
      for (const path of ["/v1/runs/r/steps", "/v1/undocumented"]) {
        const response = await send(path, { approve: true });
        assert.equal(response.status, 500, path);
        assert.equal((await response.json()).error.code, "internal_error");
      }
    } finally {
      console.error = originalError;
    }
    assert.deepEqual(await (await send("/v1/runs/r/input", { approve: true })).json(), { approve: true });
  });

  await t.step("no other module under lib/http validates with a zod schema of its own", async () => {
    const dir = new URL("../../lib/http/", import.meta.url);
    const offenders: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".ts") || entry.name === "request_body.ts") continue;
      const source = await Deno.readTextFile(new URL(entry.name, dir));
      for (const match of source.matchAll(/(\w+)\.(safeParse|parse|parseAsync|safeParseAsync)\(/g)) {
        if (match[1] === "JSON") continue;
        // webhooks.ts checks what a deployer's task template returned, not a request body.
        if (entry.name === "webhooks.ts" && match[1] === "TaskShape") continue;
        offenders.push(`${entry.name}: ${match[0]}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
