import assert from "node:assert/strict";
import { type MeterProvider as OtelMeterProvider, metrics as otelMetrics } from "@opentelemetry/api";
import {
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricData,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { createSmolstep, MemoryStore, Metrics } from "../../lib/server.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/** Collects on demand, as a test wants it. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function collected(reader: TestReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === "smolstep");
  assert.ok(scope, "a smolstep meter");
  return new Map(scope.metrics.map((metric) => [metric.descriptor.name, metric]));
}

/** The value of the data point with exactly these attributes. */
function point(metric: MetricData | undefined, attributes: Record<string, string>) {
  assert.ok(metric, "instrument recorded");
  const wanted = JSON.stringify(Object.entries(attributes).sort());
  return metric.dataPoints.find((p) => JSON.stringify(Object.entries(p.attributes).sort()) === wanted)?.value;
}

Deno.test("the same counters reach OpenTelemetry through a registered global MeterProvider", async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  assert.ok(otelMetrics.setGlobalMeterProvider(provider));
  const model = await startScriptedModelServer();
  try {
    const openai = new OpenAIServerModel({
      modelId: "otel-model",
      apiBase: model.url,
      apiKey: "k",
      maxRetries: 1,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    // Created after the provider was registered: its instruments come from it.
    const smolstep = createSmolstep({
      agents: { assistant: new ToolCallingAgent({ name: "assistant", model: openai }) },
      store: new MemoryStore(),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, smolstep.app.fetch);
    try {
      const api = apiClient(`http://127.0.0.1:${server.addr.port}`);
      const created = await api.post("/v1/agents/assistant/runs", { task: "2+2?" });
      model.enqueue({ status: 500 }, toolCallReply("final_answer", { answer: "4" }));
      assert.equal((await api.post(`/v1/runs/${created.body.runId}/steps`)).status, 200);
    } finally {
      await server.shutdown();
    }

    const metrics = await collected(reader);
    assert.equal(point(metrics.get("smolstep.model.calls"), { model: "otel-model" }), 1);
    assert.equal(point(metrics.get("smolstep.model.retries"), { model: "otel-model" }), 1);
    assert.equal(point(metrics.get("smolstep.runs.created"), { agent: "assistant", mode: "kv" }), 1);
    assert.equal(point(metrics.get("smolstep.runs.ended"), { agent: "assistant", status: "succeeded" }), 1);
    assert.equal(point(metrics.get("smolstep.steps_in_flight"), {}), 0);
    const responses = { method: "POST", route: "/v1/runs/:runId/steps", status: "200" };
    assert.equal(point(metrics.get("smolstep.http.responses"), responses), 1);

    const step = metrics.get("smolstep.step.duration") as HistogramMetricData;
    assert.equal(step.dataPointType, DataPointType.HISTOGRAM);
    assert.equal(step.descriptor.unit, "s");
    const stepPoint = step.dataPoints.find((p) => p.attributes.outcome === "ok")!;
    assert.deepEqual(stepPoint.attributes, { agent: "assistant", mode: "kv", outcome: "ok" });
    assert.equal(stepPoint.value.count, 1);
    // The Prometheus buckets, given to OTel as advice.
    assert.deepEqual(stepPoint.value.buckets.boundaries.slice(0, 3), [0.005, 0.01, 0.025]);

    const store = metrics.get("smolstep.store.operation.duration") as HistogramMetricData;
    const gets = store.dataPoints.find((p) => p.attributes.operation === "getMany");
    assert.ok(gets && gets.value.count > 0);
    // Both paths saw the same thing.
    assert.equal(smolstep.metrics!.modelRetries.value({ model: "otel-model" }), 1);
  } finally {
    otelMetrics.disable();
    await provider.shutdown();
    await model.close();
  }
});

Deno.test("OTel records only through a registered or given MeterProvider; the Prometheus side always counts", async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const given = new Metrics({ meterProvider: provider });
  // No global provider is registered: this one's OTel instruments are no-ops.
  const unregistered = new Metrics();
  given.runCreated("a", "kv");
  unregistered.runCreated("a", "kv");
  unregistered.runCreated("a", "kv");
  assert.equal(point((await collected(reader)).get("smolstep.runs.created"), { agent: "a", mode: "kv" }), 1);
  assert.equal(unregistered.runsCreated.value({ agent: "a", mode: "kv" }), 2);
  await provider.shutdown();
});

Deno.test("a failing OTel provider never fails the app: refused instruments and throwing records are skipped", async () => {
  const fail = () => {
    throw new Error("exporter down");
  };
  const throwingInstrument = { add: fail, record: fail };
  const recordsFail = {
    getMeter: () => ({
      createCounter: () => throwingInstrument,
      createUpDownCounter: () => throwingInstrument,
      createHistogram: () => throwingInstrument,
    }),
  };
  const refusesAll = { getMeter: () => ({ createCounter: fail, createUpDownCounter: fail, createHistogram: fail }) };
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => void warnings.push(message);
  try {
    for (const provider of [recordsFail, refusesAll]) {
      const metrics = new Metrics({ meterProvider: provider as unknown as OtelMeterProvider });
      const smolstep = createSmolstep({ agents: {}, metrics });
      assert.equal((await smolstep.app.request("/health")).status, 200);
      metrics.runCreated("a", "kv");
      metrics.stepStarted("kv")("a", "ok");
      assert.equal(metrics.runsCreated.value({ agent: "a", mode: "kv" }), 1);
      const scrape = await smolstep.app.request("/metrics");
      assert.match(
        await scrape.text(),
        /^smolstep_http_responses_total\{method="GET",route="\/health",status="200"\} 1$/m,
      );
    }
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 12, "one warning per instrument the provider refused");
});
