import assert from "node:assert/strict";
import { Counter, Gauge, Histogram } from "../../lib/metrics/instruments.ts";
import { instrumentStore } from "../../lib/metrics/instrumented_store.ts";
import { Metrics } from "../../lib/metrics/metrics.ts";
import { escapeLabelValue } from "../../lib/metrics/prometheus_text.ts";
import { MemoryStore } from "../../lib/stores/memory_store.ts";
import type { StoredValue } from "../../lib/stores/state_store.ts";
import { histogramSeries, parsePrometheusText, sampleValue } from "../support/prometheus_text_parser.ts";
import { runStoreConformance } from "../stores/store_conformance.ts";

const render = (...families: Array<{ render(): string[] }>) => families.flatMap((f) => f.render()).join("\n") + "\n";

Deno.test("instruments render the Prometheus text format", async (t) => {
  await t.step("label values and HELP are escaped, and read back unchanged", () => {
    const awkward = 'back\\slash "quoted"\nnew line, comma=} ünïcode';
    const counter = new Counter({ name: "x_total", help: 'help with \\ and "quotes"\nand a line', labels: ["a"] });
    counter.add({ a: awkward }, 2);
    counter.add({ a: awkward });
    counter.add({ a: "plain" });
    const text = render(counter);
    assert.ok(text.includes('x_total{a="back\\\\slash \\"quoted\\"\\nnew line, comma=} ünïcode"} 3'), text);
    const families = parsePrometheusText(text);
    assert.equal(families.get("x_total")!.help, 'help with \\ and "quotes"\nand a line');
    assert.equal(sampleValue(families, "x_total", { a: awkward }), 3);
    assert.equal(sampleValue(families, "x_total", { a: "plain" }), 1);
    assert.equal(escapeLabelValue('a"b'), 'a\\"b');
  });

  await t.step("a family without labels shows 0 before anything happened; gauges go down", () => {
    const gauge = new Gauge({ name: "g", help: "g", labels: [] });
    assert.equal(sampleValue(parsePrometheusText(render(gauge)), "g"), 0);
    gauge.add({}, 3);
    gauge.add({}, -2);
    assert.equal(sampleValue(parsePrometheusText(render(gauge)), "g"), 1);
    assert.equal(gauge.value({}), 1);
  });

  await t.step("histogram buckets are cumulative, upper bounds inclusive, +Inf equals _count", () => {
    const histogram = new Histogram({ name: "h_seconds", help: "h", labels: ["op"] }, [0.1, 1, 10]);
    for (const value of [0.05, 0.1, 0.5, 1, 20]) histogram.observe({ op: "get" }, value);
    histogram.observe({ op: "put" }, 3);
    const families = parsePrometheusText(render(histogram));
    const series = histogramSeries(families.get("h_seconds")!);
    const get = series.find((s) => s.labels.op === "get")!;
    assert.deepEqual(get.buckets, [[0.1, 2], [1, 4], [10, 4], [Infinity, 5]]);
    assert.equal(get.count, 5);
    assert.equal(get.sum, 0.05 + 0.1 + 0.5 + 1 + 20);
    const put = series.find((s) => s.labels.op === "put")!;
    assert.deepEqual(put.buckets, [[0.1, 0], [1, 0], [10, 1], [Infinity, 1]]);
  });

  await t.step("bucket bounds must be finite and increase", () => {
    assert.throws(() => new Histogram({ name: "h", help: "h", labels: [] }, [1, 1]), RangeError);
    assert.throws(() => new Histogram({ name: "h", help: "h", labels: [] }, [1, Infinity]), RangeError);
  });

  await t.step("the test parser refuses what Prometheus would refuse", () => {
    const head = "# HELP h h\n# TYPE h histogram\n";
    const tail = "h_sum 1\nh_count 2\n";
    assert.doesNotThrow(() => parsePrometheusText(`${head}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n${tail}`));
    assert.throws(() => parsePrometheusText(`${head}h_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\n${tail}`), /go down/);
    assert.throws(() => parsePrometheusText(`${head}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\n${tail}`), /_count/);
    assert.throws(() => parsePrometheusText(`${head}h_bucket{le="1"} 1\n${tail}`), /\+Inf/);
    assert.throws(() => parsePrometheusText('# TYPE c counter\nc{a="x\\t"} 1\n'), /bad escape/);
    assert.throws(() => parsePrometheusText('# TYPE c counter\nc{a="x"} 1\nc{a="x"} 2\n'), /duplicate/);
    assert.throws(() => parsePrometheusText("d 1\n"), /undeclared/);
  });

  await t.step("Metrics renders every smolstep family, parseable before anything happened", () => {
    const families = parsePrometheusText(new Metrics().render());
    assert.deepEqual([...families.keys()], [
      "smolstep_http_requests_in_flight",
      "smolstep_http_responses_total",
      "smolstep_steps_in_flight",
      "smolstep_step_duration_seconds",
      "smolstep_store_operation_duration_seconds",
      "smolstep_store_errors_total",
      "smolstep_model_calls_total",
      "smolstep_model_retries_total",
      "smolstep_model_failures_total",
      "smolstep_model_call_duration_seconds",
      "smolstep_runs_created_total",
      "smolstep_runs_ended_total",
    ]);
    assert.equal(sampleValue(families, "smolstep_steps_in_flight"), 0);
  });

  await t.step("a step's end is counted once, however often it is reported", () => {
    const metrics = new Metrics();
    const ended = metrics.stepStarted("kv");
    // Steps in flight are admission control's count (lib/http/admission.ts), not the timer's.
    assert.equal(metrics.stepsInFlight.value({}), 0);
    ended("a", "ok");
    ended("a", "error");
    const families = parsePrometheusText(metrics.render());
    assert.equal(
      sampleValue(families, "smolstep_step_duration_seconds_count", { agent: "a", mode: "kv", outcome: "ok" }),
      1,
    );
    assert.equal(
      sampleValue(families, "smolstep_step_duration_seconds_count", { agent: "a", mode: "kv", outcome: "error" }),
      undefined,
    );
  });
});

Deno.test("instrumentStore: the wrapped store passes the store conformance suite", async (t) => {
  const metrics = new Metrics();
  await runStoreConformance(
    t,
    () => Promise.resolve({ store: instrumentStore(new MemoryStore(), metrics), close: async () => {} }),
  );
  const families = parsePrometheusText(metrics.render());
  for (const operation of ["get", "put", "delete"]) {
    const count = sampleValue(families, "smolstep_store_operation_duration_seconds_count", { operation });
    assert.ok(count !== undefined && count > 0, `${operation} was timed`);
  }
});

Deno.test("instrumentStore forwards properties and any other method, timing the asynchronous ones", async () => {
  class StoreWithExtras extends MemoryStore {
    readonly #secret = "private fields still work";
    override getMany(keys: string[]): Promise<Array<StoredValue | null>> {
      return Promise.all(keys.map((key) => this.get(key)));
    }
    describe(): string {
      return this.#secret;
    }
    broken(): Promise<void> {
      return Promise.reject(new Error("down"));
    }
  }
  const metrics = new Metrics();
  const inner = new StoreWithExtras({ maxValueBytes: 1234 });
  const store = instrumentStore(inner, metrics);
  assert.equal(store.maxValueBytes, 1234);
  assert.equal(store.atomic, inner.atomic);
  assert.ok(store instanceof StoreWithExtras);
  await store.put("a", "1");
  const [a, missing] = await store.getMany(["a", "b"]);
  assert.equal(a?.value, "1");
  assert.equal(missing, null);
  assert.equal(store.describe(), "private fields still work");
  await assert.rejects(store.broken(), /down/);
  const families = parsePrometheusText(metrics.render());
  const count = (operation: string) =>
    sampleValue(families, "smolstep_store_operation_duration_seconds_count", { operation });
  assert.equal(count("getMany"), 1);
  // getMany's own reads run on the inner store: not counted again.
  assert.equal(count("get"), undefined);
  assert.equal(count("put"), 1);
  assert.equal(count("describe"), undefined);
  assert.equal(count("broken"), 1);
  assert.equal(sampleValue(families, "smolstep_store_errors_total", { operation: "broken" }), 1);
  assert.equal(sampleValue(families, "smolstep_store_errors_total", { operation: "put" }), undefined);
});
