/**
 * What metrics cost: a 10-step KV-mode run over `app.fetch` (Deno KV in memory, instant scripted model) with the
 * default metrics and with `metrics: false`, and one `/metrics` render after those runs.
 *
 *   deno bench -A --unstable-kv bench/metrics_overhead_bench.ts
 */
import { calculatorTool, OpenAIServerModel, ToolCallingAgent } from "../lib/mod.ts";
import { createSmolstep, Metrics } from "../lib/server.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { calculatorRunReply, kvRunInProcess } from "../tests/support/run_scenarios.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const STEPS = 10;

/** Nine calculator calls, then the final answer. */
const reply = (request: ReceivedRequest) => calculatorRunReply(request, STEPS - 1);

const server = await startScriptedModelServer({ replies: reply });
const model = new OpenAIServerModel({ modelId: "scripted", apiBase: server.url, apiKey: "k" });
const agent = new ToolCallingAgent({ name: "bench", model, tools: [calculatorTool], maxSteps: STEPS + 2 });
const kv = await Deno.openKv(":memory:");
const metrics = new Metrics();
const withMetrics = createSmolstep({ agents: { bench: agent }, store: new DenoKvStore(kv, ["on"]), metrics }).app;
const without = createSmolstep({ agents: { bench: agent }, store: new DenoKvStore(kv, ["off"]), metrics: false }).app;

function run(app: typeof withMetrics): Promise<void> {
  return kvRunInProcess(app, "bench", "Count to ten.");
}

// Fail loudly before measuring anything that does not run.
await run(without);
await run(withMetrics);

Deno.bench("KV mode, metrics: false", { group: "10-step run", baseline: true }, async () => await run(without));
Deno.bench("KV mode, default metrics", { group: "10-step run" }, async () => await run(withMetrics));
Deno.bench("GET /metrics render", async () => {
  const response = await withMetrics.request("/metrics");
  await response.text();
});

// The records one KV step makes (request, step, 8 store operations, one model call), without any I/O.
const records = new Metrics();
Deno.bench("one step's metric records", () => {
  records.httpRequestsInFlight.add({}, 1);
  const ended = records.stepStarted("kv");
  for (let i = 0; i < 8; i++) records.storeOperationEnded(i % 2 ? "get" : "put", 0.001, true);
  records.modelCallEnded("scripted", 0.05, "ok");
  ended("bench", "ok");
  records.httpRequestsInFlight.add({}, -1);
  records.httpResponses.add({ method: "POST", route: "/v1/runs/:runId/steps", status: "200" });
});
