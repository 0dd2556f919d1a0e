import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createLogger, type LogRecord, MemoryStore } from "../../lib/server.ts";
import { exampleWebhook } from "../../functions/server_options.ts";
import { mcpServer } from "../../lib/mcp/server/mod.ts";
import { serveBackground } from "../support/background_app.ts";
import { apiClient } from "../support/http_client.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { postHook, standardHeaders, whsecSecret } from "../support/webhook_senders.ts";

// Every secret a request or the server holds carries LEAK, so one search finds any of them in a log line.
const API_KEY = "sk-api-key-LEAK-0123456789";
const WRONG_KEY = "wrong-bearer-LEAK-0123456789";
const SECRET = "state-secret-LEAK-0123456789";
const WEBHOOK_SECRET = whsecSecret("webhook-secret-LEAK");
const MODEL_KEY = "sk-model-key-LEAK-0123456789";
const QUERY_TOKEN = "query-token-LEAK";
const TASK = "a private task LEAK";

const answer = (text: string) => toolCallReply("final_answer", { answer: text });

function agents(model: ScriptedModelServer) {
  const openai = new OpenAIServerModel({
    modelId: "scripted-model",
    apiBase: model.url,
    apiKey: MODEL_KEY,
    maxRetries: 0,
  });
  return {
    assistant: new ToolCallingAgent({ name: "assistant", model: openai, maxSteps: 3 }),
    // A step callback that throws a plain error: an unhandled error, a 500 whose message holds a secret.
    crashy: new ToolCallingAgent({
      name: "crashy",
      model: openai,
      stepCallbacks: [() => {
        throw new Error(`callback failed while holding ${MODEL_KEY} and ${API_KEY}`);
      }],
    }),
  };
}

Deno.test("one JSON line per request, and no secret in any line", async () => {
  const records: LogRecord[] = [];
  await using model = await startScriptedModelServer();
  const app = serveBackground({
    agents: agents(model),
    store: new MemoryStore(),
    secret: SECRET,
    apiKeys: [API_KEY],
    webhookSecret: WEBHOOK_SECRET,
    webhooks: { assistant: exampleWebhook() },
    plugins: [mcpServer()],
    logger: createLogger({ level: "debug", sink: (record) => records.push(record) }),
  });
  const api = apiClient(app.url, { apiKey: API_KEY });
  const issued: string[] = []; // state tokens the server handed out
  const expected: Array<{ route: string; status: number; runId?: string; method?: string }> = [];
  try {
    assert.equal(await fetch(`${app.url}/health`).then((r) => r.body?.cancel()), undefined);
    expected.push({ route: "/health", status: 200 });

    const refused = await apiClient(app.url, { apiKey: WRONG_KEY }).post("/v1/agents/assistant/runs", { task: TASK });
    assert.equal(refused.status, 401);
    expected.push({ route: "/v1/agents/:name/runs", status: 401 });

    const created = await api.post("/v1/agents/assistant/runs", { task: TASK });
    assert.equal(created.status, 201);
    const runId = created.body.runId as string;
    expected.push({ route: "/v1/agents/:name/runs", status: 201, runId });

    model.enqueue(answer("done"));
    const step = await api.post(`/v1/runs/${runId}/steps`, undefined, { "X-Request-Id": "client-req-1" });
    assert.equal(step.status, 200);
    assert.equal(step.headers.get("X-Request-Id"), "client-req-1");
    expected.push({ route: "/v1/runs/:runId/steps", status: 200, runId });

    const read = await api.get(`/v1/runs/${runId}?token=${QUERY_TOKEN}&api_key=${API_KEY}`);
    assert.equal(read.status, 200);
    expected.push({ route: "/v1/runs/:runId", status: 200, runId, method: "GET" });

    const stateless = await api.post("/v1/agents/assistant/runs", { task: TASK, stateless: true });
    assert.equal(stateless.status, 201);
    issued.push(stateless.body.state);
    expected.push({ route: "/v1/agents/:name/runs", status: 201 });
    model.enqueue(answer("done"));
    const statelessStep = await api.post("/v1/agents/assistant/steps", { state: stateless.body.state });
    assert.equal(statelessStep.status, 200, JSON.stringify(statelessStep.body));
    issued.push(statelessStep.body.state);
    expected.push({ route: "/v1/agents/:name/steps", status: 200 });

    model.enqueue(answer("hooked"));
    const body = JSON.stringify({ task: TASK });
    const hook = await postHook(`${app.url}/v1/hooks/assistant`, body, standardHeaders(WEBHOOK_SECRET, body));
    assert.equal(hook.status, 202, JSON.stringify(hook.body));
    await app.queue.idle();
    expected.push({ route: "/v1/hooks/:name", status: 202 });

    // The front ends that create a run name it in their line: a chat completion, an MCP tools/call (logged when
    // its answer is written).
    model.enqueue(answer("chatted"));
    const chat = await api.post("/v1/chat/completions", {
      model: "assistant",
      messages: [{ role: "user", content: TASK }],
    });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));
    expected.push({ route: "/v1/chat/completions", status: 200, runId: chat.headers.get("X-Smolstep-Run-Id")! });
    model.enqueue(answer("called"));
    const call = await fetch(`${app.url}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${API_KEY}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "assistant", arguments: { task: TASK } },
      }),
    });
    const mcpRunId = (await call.text()).match(/"smolstep\/runId":"([\w-]+)"/)?.[1];
    assert.ok(mcpRunId, "the tool result names its run");
    expected.push({ route: "/mcp", status: 200, runId: mcpRunId });

    // The model refuses the key, quoting it, as providers do.
    model.enqueue({ status: 401, error: `Incorrect API key provided: ${MODEL_KEY}` });
    const second = await api.post("/v1/agents/assistant/runs", { task: TASK });
    const failed = await api.post(`/v1/runs/${second.body.runId}/steps`);
    assert.ok(failed.status >= 400, JSON.stringify(failed.body));
    expected.push({ route: "/v1/agents/:name/runs", status: 201, runId: second.body.runId });
    expected.push({ route: "/v1/runs/:runId/steps", status: failed.status, runId: second.body.runId });

    model.enqueue(answer("never kept"));
    const crashyRun = await api.post("/v1/agents/crashy/runs", { task: TASK });
    const crashed = await api.post(`/v1/runs/${crashyRun.body.runId}/steps`);
    assert.equal(crashed.status, 500);
    assert.equal(crashed.body.error.code, "internal_error");
    expected.push({ route: "/v1/agents/:name/runs", status: 201, runId: crashyRun.body.runId });
    expected.push({ route: "/v1/runs/:runId/steps", status: 500, runId: crashyRun.body.runId });

    const missing = await fetch(`${app.url}/v1/nothing/here?token=${QUERY_TOKEN}`, {
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    await missing.body?.cancel();
    expected.push({ route: "unmatched", status: 404 });
  } finally {
    await app.close();
  }

  const lines = records.map((record) => JSON.stringify(record));
  for (const line of lines) {
    assert.ok(!line.includes("LEAK"), `a secret in ${line}`);
    for (const token of issued) assert.ok(!line.includes(token.slice(4, 40)), `a state token in ${line}`);
    assert.ok(!line.includes("stack"), line);
  }
  const requests = records.filter((record) => record.msg === "request");
  assert.equal(requests.length, records.length, "nothing but request lines");
  assert.deepEqual(
    requests.map((r) => ({ route: r.route, status: r.status, ...(r.runId ? { runId: r.runId } : {}) })),
    expected.map(({ route, status, runId }) => ({ route, status, ...(runId ? { runId } : {}) })),
    "one line per request, in order",
  );
  for (const record of requests) {
    assert.match(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(record.level, (record.status as number) >= 500 ? "error" : "info"); // no 503 refusal here
    assert.ok(["GET", "POST"].includes(record.method as string));
    assert.equal(typeof record.durationMs, "number");
    assert.match(record.requestId as string, /^[\w.:-]+$/);
    assert.deepEqual(
      Object.keys(record).filter((key) => !["runId", "error", "stepStatus"].includes(key)).sort(),
      ["durationMs", "level", "method", "msg", "requestId", "route", "status", "time"],
    );
  }
  assert.equal(requests[3].requestId, "client-req-1", "the caller's request id is kept");
  assert.equal(new Set(requests.map((r) => r.requestId)).size, requests.length, "ids are unique otherwise");
  const crash = requests.at(-2)!;
  assert.deepEqual(crash.error, { code: "internal_error", type: "Error" }, "errors by code and class, no message");
  const modelFailure = requests.at(-4)!;
  assert.equal((modelFailure.error as { code: string }).code, "model_error");
  assert.equal(requests[1].status, 401);
});

Deno.test("the level decides what is written; off writes nothing", async (t) => {
  await using model = await startScriptedModelServer();
  for (const [level, expected] of [["warn", ["/v1/runs/:runId/steps 500"]], ["off", []]] as const) {
    await t.step(level, async () => {
      const records: LogRecord[] = [];
      const app = serveBackground({
        agents: agents(model),
        store: new MemoryStore(),
        logger: createLogger({ level, sink: (record) => records.push(record) }),
      });
      const api = apiClient(app.url);
      try {
        await fetch(`${app.url}/health`).then((r) => r.body?.cancel());
        model.enqueue(answer("never kept"));
        const run = await api.post("/v1/agents/crashy/runs", { task: TASK });
        assert.equal((await api.post(`/v1/runs/${run.body.runId}/steps`)).status, 500);
      } finally {
        await app.close();
      }
      assert.deepEqual(records.map((r) => `${r.route} ${r.status}`), expected);
    });
  }
});

Deno.test("a streamed step is logged once, when the step ends", async () => {
  const records: LogRecord[] = [];
  await using model = await startScriptedModelServer();
  const app = serveBackground({
    agents: agents(model),
    store: new MemoryStore(),
    logger: createLogger({ sink: (record) => records.push(record) }),
  });
  try {
    const created = await apiClient(app.url).post("/v1/agents/assistant/runs", { task: TASK });
    model.enqueue({ content: "Thinking it over.", toolCalls: [{ name: "final_answer", arguments: { answer: "ok" } }] });
    const response = await fetch(`${app.url}/v1/runs/${created.body.runId}/steps`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: "{}",
    });
    assert.equal(response.headers.get("Content-Type"), "text/event-stream");
    assert.match(await response.text(), /event: step/);
  } finally {
    await app.close();
  }
  const steps = records.filter((record) => record.route === "/v1/runs/:runId/steps");
  assert.equal(steps.length, 1);
  assert.equal(steps[0].status, 200);
  assert.equal(steps[0].stepStatus, undefined, "the step ended as the response began: ok");
  assert.equal(steps[0].level, "info");
});

Deno.test("a load-shedding refusal (503 overloaded) is logged at warn, not error", async () => {
  const records: LogRecord[] = [];
  await using model = await startScriptedModelServer();
  const app = serveBackground({
    agents: agents(model),
    store: new MemoryStore(),
    maxStepsInFlight: 1,
    lockTtlMs: 10_000,
    logger: createLogger({ level: "info", sink: (record) => records.push(record) }),
  });
  const api = apiClient(app.url);
  try {
    const first = await api.post("/v1/agents/assistant/runs", { task: TASK });
    const second = await api.post("/v1/agents/assistant/runs", { task: TASK });
    model.enqueue({ ...answer("slow"), delayMs: 300 });
    const running = api.post(`/v1/runs/${first.body.runId}/steps`);
    while (model.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await api.post(`/v1/runs/${second.body.runId}/steps`);
    assert.equal(refused.status, 503);
    assert.equal((await running).status, 200);
  } finally {
    await app.close();
  }
  const steps = records.filter((record) => record.route === "/v1/runs/:runId/steps");
  assert.deepEqual(steps.map((r) => [r.status, r.level]), [[503, "warn"], [200, "info"]]);
  assert.deepEqual(steps[0].error, { code: "overloaded", type: "HttpError" });
});
