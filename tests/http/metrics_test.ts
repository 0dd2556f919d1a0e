import assert from "node:assert/strict";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createSmolstep, Metrics } from "../../lib/server.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../../lib/metrics/prometheus_text.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import { serveBackground } from "../support/background_app.ts";
import { CountingStore } from "../support/counting_store.ts";
import { apiClient } from "../support/http_client.ts";
import { type Family, histogramSeries, parsePrometheusText, sampleValue } from "../support/prometheus_text_parser.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { until } from "../support/until.ts";

const SECRET = "metrics-test-secret-0123456789";
const KEY = "metrics-key-0123456789";
/** Every character the exposition format escapes, in a label value that reaches /metrics (the model id). */
const MODEL_ID = 'scripted "model"\\v1\nsecond line';

function agents(model: ScriptedModelServer) {
  const openai = new OpenAIServerModel({
    modelId: MODEL_ID,
    apiBase: model.url,
    apiKey: "k",
    maxRetries: 2,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
  return { assistant: new ToolCallingAgent({ name: "assistant", model: openai, maxSteps: 3 }) };
}

function serve(options: AppOptions) {
  const smolstep = createSmolstep(options);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return { url, smolstep, close: () => server.shutdown() };
}

async function scrape(url: string, key = KEY): Promise<{ text: string; families: Map<string, Family> }> {
  const response = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("Content-Type"), PROMETHEUS_CONTENT_TYPE);
  const text = await response.text();
  const families = parsePrometheusText(text);
  for (const family of families.values()) if (family.type === "histogram") histogramSeries(family);
  return { text, families };
}

const answer = (text: string) => toolCallReply("final_answer", { answer: text });

Deno.test("/metrics over loopback: exact counts after real steps", async (t) => {
  const model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  const server = serve({ agents: agents(model), store: new DenoKvStore(kv), secret: SECRET, apiKeys: [KEY] });
  const api = apiClient(server.url, { apiKey: KEY });
  const runIds: string[] = [];
  const createRun = async () => {
    const created = await api.post("/v1/agents/assistant/runs", { task: "What is 2+2?" });
    assert.equal(created.status, 201);
    runIds.push(created.body.runId);
    return created.body.runId as string;
  };

  try {
    await t.step("/metrics needs an API key when apiKeys are set; /health does not", async () => {
      assert.equal((await fetch(`${server.url}/metrics`).then(async (r) => (await r.body?.cancel(), r))).status, 401);
      const wrong = await fetch(`${server.url}/metrics`, { headers: { Authorization: "Bearer wrong-key" } });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401);
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      const body = await health.json();
      assert.equal(body.ok, true);
      assert.equal(body.agents, 1);
      assert.equal(body.stepsInFlight, 0);
      assert.equal(typeof body.version, "string");
      assert.ok(Number.isInteger(body.uptimeSeconds) && body.uptimeSeconds >= 0);
      assert.deepEqual(Object.keys(body).sort(), [
        "agents",
        "maxStepsInFlight",
        "ok",
        "stepsInFlight",
        "uptimeSeconds",
        "version",
      ]);
    });

    await t.step(
      "a step whose first model attempt fails (500) succeeds on the retry; its replay is counted",
      async () => {
        const runId = await createRun();
        model.enqueue({ status: 500 }, answer("4"));
        const step = await api.post(`/v1/runs/${runId}/steps`, {}, { "Idempotency-Key": "k1" });
        assert.equal(step.status, 200);
        assert.equal(step.body.status, "succeeded");
        const replay = await api.post(`/v1/runs/${runId}/steps`, {}, { "Idempotency-Key": "k1" });
        assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
      },
    );

    await t.step("a step whose model fails every attempt (429, 500, 500) is a 502 and a model failure", async () => {
      const runId = await createRun();
      model.enqueue({ status: 429, retryAfter: 0 }, { status: 500 }, { status: 500 });
      const step = await api.post(`/v1/runs/${runId}/steps`);
      assert.equal(step.status, 502);
      assert.equal(model.pending, 0);
    });

    await t.step("refused steps: unknown run, unknown agent; no API key (not a step)", async () => {
      assert.equal((await apiClient(server.url).post(`/v1/runs/${crypto.randomUUID()}/steps`)).status, 401);
      assert.equal((await api.post(`/v1/runs/${crypto.randomUUID()}/steps`)).status, 404);
      assert.equal((await api.post("/v1/agents/no-such-agent/steps", { state: "x" })).status, 404);
      assert.equal((await api.get("/no/such/path")).status, 404);
    });

    await t.step("a stateless run and a cancelled run", async () => {
      const created = await api.post("/v1/agents/assistant/runs", { task: "2+2?", stateless: true });
      assert.equal(created.status, 201);
      model.enqueue(answer("4"));
      const step = await api.post("/v1/agents/assistant/steps", { state: created.body.state });
      assert.equal(step.status, 200);
      assert.equal(step.body.status, "succeeded");
      const runId = await createRun();
      assert.equal((await api.post(`/v1/runs/${runId}/cancel`)).status, 200);
    });

    await t.step("the scrape has the exact counts", async () => {
      const { text, families } = await scrape(server.url);
      const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);
      const model = { model: MODEL_ID };
      assert.equal(value("smolstep_model_calls_total", model), 3);
      assert.equal(value("smolstep_model_retries_total", model), 3);
      assert.equal(value("smolstep_model_failures_total", model), 1);
      assert.equal(value("smolstep_model_call_duration_seconds_count", model), 3);
      // The model id, escaped as the format requires.
      assert.ok(text.includes('model="scripted \\"model\\"\\\\v1\\nsecond line"'), text);

      const steps = (agent: string, mode: string, outcome: string) =>
        value("smolstep_step_duration_seconds_count", { agent, mode, outcome });
      assert.equal(steps("assistant", "kv", "ok"), 1);
      assert.equal(steps("assistant", "kv", "replayed"), 1);
      assert.equal(steps("assistant", "kv", "error"), 1);
      assert.equal(steps("", "kv", "rejected"), 1);
      assert.equal(steps("assistant", "stateless", "ok"), 1);
      assert.equal(steps("", "stateless", "rejected"), 1);
      assert.equal(
        families.get("smolstep_step_duration_seconds")!.samples.filter((s) => s.name.endsWith("_count")).length,
        6,
      );
      assert.equal(value("smolstep_steps_in_flight"), 0);
      assert.equal(value("smolstep_http_requests_in_flight"), 1, "the scrape itself");

      assert.equal(value("smolstep_runs_created_total", { agent: "assistant", mode: "kv" }), 3);
      assert.equal(value("smolstep_runs_created_total", { agent: "assistant", mode: "stateless" }), 1);
      assert.equal(value("smolstep_runs_ended_total", { agent: "assistant", status: "succeeded" }), 2);
      assert.equal(value("smolstep_runs_ended_total", { agent: "assistant", status: "cancelled" }), 1);
      assert.equal(families.get("smolstep_runs_ended_total")!.samples.length, 2);

      const responses = (method: string, route: string, status: number) =>
        value("smolstep_http_responses_total", { method, route, status: String(status) });
      assert.equal(responses("POST", "/v1/agents/:name/runs", 201), 4);
      assert.equal(responses("POST", "/v1/runs/:runId/steps", 200), 2);
      assert.equal(responses("POST", "/v1/runs/:runId/steps", 502), 1);
      assert.equal(responses("POST", "/v1/runs/:runId/steps", 404), 1);
      assert.equal(responses("POST", "/v1/runs/:runId/steps", 401), 1);
      assert.equal(responses("POST", "/v1/agents/:name/steps", 200), 1);
      assert.equal(responses("POST", "/v1/agents/:name/steps", 404), 1);
      assert.equal(responses("POST", "/v1/runs/:runId/cancel", 200), 1);
      assert.equal(responses("GET", "/metrics", 401), 2);
      assert.equal(responses("GET", "/health", 200), 1);
      assert.equal(responses("GET", "unmatched", 404), 1);
      // Route patterns only: no run id, no unknown agent name became a label.
      for (const runId of runIds) assert.ok(!text.includes(runId), `run id ${runId} in /metrics`);
      assert.ok(!text.includes("no-such-agent"));
      assert.ok(!text.includes("/no/such/path"));

      // Deno KV round trips, timed per operation (a KV step reads its record and cancel flag with one getMany).
      for (const operation of ["getMany", "put"]) {
        const count = value("smolstep_store_operation_duration_seconds_count", { operation });
        assert.ok(count !== undefined && count >= runIds.length, `${operation}: ${count}`);
        const sum = value("smolstep_store_operation_duration_seconds_sum", { operation })!;
        assert.ok(sum > 0);
      }
      assert.equal(families.get("smolstep_store_errors_total")!.samples.length, 0);
    });

    await t.step("steps and requests in flight while a model call is pending", async () => {
      const runId = await createRun();
      const gate = Promise.withResolvers<void>();
      const seen = model.requests.length;
      model.setHandler(async () => {
        await gate.promise;
        return answer("4");
      });
      const step = api.post(`/v1/runs/${runId}/steps`);
      await until(() => model.requests.length > seen);
      const health = await apiClient(server.url).get("/health");
      assert.equal(health.body.stepsInFlight, 1);
      const { families } = await scrape(server.url);
      assert.equal(sampleValue(families, "smolstep_steps_in_flight"), 1);
      assert.equal(sampleValue(families, "smolstep_http_requests_in_flight"), 2);
      gate.resolve();
      assert.equal((await step).status, 200);
      model.setHandler(undefined);
      assert.equal((await apiClient(server.url).get("/health")).body.stepsInFlight, 0);
    });
  } finally {
    await server.close();
    kv.close();
    await model.close();
  }
});

Deno.test("/metrics counts background steps; metrics can be given or turned off", async (t) => {
  const model = await startScriptedModelServer();
  try {
    await t.step("a background run: its step is counted with mode background", async () => {
      const metrics = new Metrics();
      const app = serveBackground({ agents: agents(model), store: new MemoryStore(), metrics });
      try {
        model.enqueue({ status: 503 }, answer("4"));
        const created = await app.api.post("/v1/agents/assistant/runs", { task: "2+2?", background: true });
        assert.equal(created.status, 201);
        await app.queue.idle();
        assert.equal((await app.api.get(`/v1/runs/${created.body.runId}`)).body.status, "succeeded");
        const { families } = await scrape(app.url);
        const steps = { agent: "assistant", mode: "background", outcome: "ok" };
        assert.equal(sampleValue(families, "smolstep_step_duration_seconds_count", steps), 1);
        assert.equal(
          sampleValue(families, "smolstep_runs_created_total", { agent: "assistant", mode: "background" }),
          1,
        );
        assert.equal(
          sampleValue(families, "smolstep_runs_ended_total", { agent: "assistant", status: "succeeded" }),
          1,
        );
        assert.equal(sampleValue(families, "smolstep_model_retries_total", { model: MODEL_ID }), 1);
        // The registry given is the one served.
        assert.equal(metrics.modelCalls.value({ model: MODEL_ID }), 1);
      } finally {
        await app.close();
      }
    });

    await t.step("createSmolstep exposes its metrics; without apiKeys /metrics is open", async () => {
      const server = serve({ agents: agents(model), secret: SECRET });
      try {
        assert.ok(server.smolstep.metrics instanceof Metrics);
        const response = await fetch(`${server.url}/metrics`);
        assert.equal(response.status, 200);
        assert.match(await response.text(), /^smolstep_http_requests_in_flight 1$/m);
      } finally {
        await server.close();
      }
    });

    await t.step("metrics: false: no /metrics; /health still counts steps in flight", async () => {
      const server = serve({ agents: agents(model), secret: SECRET, metrics: false });
      try {
        assert.equal(server.smolstep.metrics, undefined);
        const response = await fetch(`${server.url}/metrics`);
        await response.body?.cancel();
        assert.equal(response.status, 404);
        const health = await apiClient(server.url).get("/health");
        assert.equal(health.body.ok, true);
        assert.equal(health.body.stepsInFlight, 0);
      } finally {
        await server.close();
      }
    });
  } finally {
    await model.close();
  }
});

Deno.test("/health and /metrics agree on steps in flight under concurrent steps of every kind", async () => {
  const model = await startScriptedModelServer();
  const store = new CountingStore(new MemoryStore());
  const server = serve({
    agents: agents(model),
    store,
    secret: SECRET,
    queue: { enqueue: () => Promise.resolve() },
  });
  const api = apiClient(server.url);
  const gate = Promise.withResolvers<void>();
  try {
    const kvRuns = await Promise.all([1, 2, 3].map(() => api.post("/v1/agents/assistant/runs", { task: "2+2?" })));
    const { body: sealed } = await api.post("/v1/agents/assistant/runs", { task: "2+2?", stateless: true });
    const { body: background } = await api.post("/v1/agents/assistant/runs", { task: "2+2?", background: true });
    // The background message waits on its first store read; the HTTP steps wait on the model.
    const storeHeld = Promise.withResolvers<void>();
    store.beforeCall = async (method, key) => {
      if (method === "get" && key === `runs/${background.runId}`) {
        storeHeld.resolve();
        await gate.promise;
      }
    };
    model.setHandler(async () => {
      await gate.promise;
      return answer("4");
    });
    const steps = [
      ...kvRuns.map(({ body }) => api.post(`/v1/runs/${body.runId}/steps`)),
      api.post("/v1/agents/assistant/steps", { state: sealed.state }),
      server.smolstep.handleQueueMessage({ type: "step", runId: background.runId, seq: 0, attempt: 1 }),
    ];
    await storeHeld.promise;
    await until(() => model.requests.length === 4);
    const inFlight = async () => {
      const health = (await api.get("/health")).body.stepsInFlight;
      const gauge = sampleValue((await scrape(server.url)).families, "smolstep_steps_in_flight");
      return [health, gauge];
    };
    assert.deepEqual(await inFlight(), [5, 5]);
    gate.resolve();
    await Promise.all(steps);
    assert.deepEqual(await inFlight(), [0, 0]);
  } finally {
    gate.resolve();
    model.setHandler(undefined);
    await server.close();
    await model.close();
  }
});
