import assert from "node:assert/strict";
import { scriptedModelEnv, startDenoEntry } from "../support/deno_entry.ts";
import { startOtlpCollector } from "../support/otlp_collector.ts";
import { apiClient } from "../support/http_client.ts";
import { kvFullRun } from "../support/run_scenarios.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

interface OtlpSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
}
interface OtlpTraces {
  resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }> }>;
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

Deno.test("Deno entry with OTEL_DENO=true: smolstep's spans leave over OTLP, nested in Deno's request spans", async () => {
  const collector = startOtlpCollector<OtlpTraces>("/v1/traces");
  const { exports } = collector;
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-otel-traces-" });
  const server = await startDenoEntry({
    ...scriptedModelEnv(model.url, dir),
    OPENAI_API_KEY: "sk-otel-model-key-LEAK",
    SMOLSTEP_LOG_LEVEL: "off",
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  });
  try {
    const runId = await kvFullRun(apiClient(server.url), model);
    const all = () => exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    const smolstep = () =>
      exports.flatMap((e) =>
        e.resourceSpans.flatMap((r) => r.scopeSpans.filter((s) => s.scope.name === "smolstep").flatMap((s) => s.spans))
      );
    // Spans are exported in batches: wait for both steps' spans (a condition, not a duration).
    for (let i = 0; i < 300 && smolstep().filter((s) => s.name === "invoke_agent assistant").length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const steps = smolstep().filter((s) => s.name === "invoke_agent assistant");
    assert.equal(steps.length, 2);
    for (const step of steps) {
      assert.equal(attribute(step, "smolstep.run.id"), runId);
      const children = smolstep().filter((s) => s.parentSpanId === step.spanId).map((s) => s.name).sort();
      assert.equal(children.length, 2, children.join());
      assert.equal(children[0], "chat scripted-model");
      assert.match(children[1], /^execute_tool (calculator|final_answer)$/);
      // Deno's own span of the request is the step span's parent.
      const parent = all().find((s) => s.spanId === step.parentSpanId);
      assert.ok(parent, "the step span has a parent span: Deno's HTTP server span");
      assert.ok(!smolstep().includes(parent));
    }
    assert.ok(!JSON.stringify(exports).includes("LEAK"), "no model key in any exported span");
  } finally {
    await server.kill();
    await model.close();
    await collector.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
