import assert from "node:assert/strict";
import { scriptedModelEnv, startDenoEntry } from "../support/deno_entry.ts";
import { startOtlpCollector } from "../support/otlp_collector.ts";
import { apiClient } from "../support/http_client.ts";
import { kvFullRun } from "../support/run_scenarios.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

interface OtlpDataPoint {
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
}
interface OtlpMetric {
  name: string;
  sum?: { dataPoints: OtlpDataPoint[] };
  histogram?: { dataPoints: OtlpDataPoint[] };
}
interface OtlpExport {
  resourceMetrics: Array<{ scopeMetrics: Array<{ scope: { name: string }; metrics: OtlpMetric[] }> }>;
}

/** The smolstep meter's metrics in one OTLP/JSON export, by name. */
function smolstepMetrics(body: OtlpExport): Map<string, OtlpMetric> {
  const scopes = body.resourceMetrics.flatMap((r) => r.scopeMetrics).filter((s) => s.scope.name === "smolstep");
  return new Map(scopes.flatMap((s) => s.metrics).map((m) => [m.name, m]));
}

const attributes = (point: OtlpDataPoint) =>
  Object.fromEntries((point.attributes ?? []).map((a) => [a.key, a.value.stringValue]));

Deno.test("Deno entry with OTEL_DENO=true: smolstep's metrics leave over OTLP with no code", async () => {
  const collector = startOtlpCollector<OtlpExport>("/v1/metrics");
  const { exports } = collector;
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-otel-" });
  const server = await startDenoEntry({
    ...scriptedModelEnv(model.url, dir),
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_METRIC_EXPORT_INTERVAL: "200",
  });
  try {
    await kvFullRun(apiClient(server.url), model);
    const calls = model.requests.filter((r) => r.method === "POST").length;
    assert.ok(calls >= 2);
    // Exports are periodic and cumulative: wait for one that has seen every call.
    const modelCalls = (metrics: Map<string, OtlpMetric>) => {
      const points = metrics.get("smolstep.model.calls")?.sum?.dataPoints ?? [];
      const point = points.find((p) => attributes(p).model === "scripted-model");
      return Number(point?.asInt ?? point?.asDouble ?? 0);
    };
    let latest = new Map<string, OtlpMetric>();
    for (let i = 0; i < 300 && modelCalls(latest) < calls; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The runtime's own meters (v8js, deno) may come in exports of their own.
      const last = exports.map(smolstepMetrics).findLast((metrics) => metrics.size > 0);
      if (last) latest = last;
    }
    assert.equal(modelCalls(latest), calls);
    const steps = latest.get("smolstep.step.duration")?.histogram?.dataPoints ?? [];
    const ok = steps.find((p) => attributes(p).mode === "kv" && attributes(p).outcome === "ok");
    assert.ok(ok, "a step duration point");
    assert.deepEqual(attributes(ok), { agent: "assistant", mode: "kv", outcome: "ok" });
    assert.equal(Number(ok.count), calls);
    const runs = latest.get("smolstep.runs.created")?.sum?.dataPoints ?? [];
    assert.deepEqual(runs.map(attributes), [{ agent: "assistant", mode: "kv" }]);
  } finally {
    await server.kill();
    await model.close();
    await collector.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
