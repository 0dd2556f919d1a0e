import assert from "node:assert/strict";
import { Hono } from "hono";
import { OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { type AppOptions, createApp } from "../../lib/server.ts";
import { errorHandler } from "../../lib/http/http_errors.ts";
import { stepResponse } from "../../lib/http/step_stream.ts";
import { DenoKvStore } from "../../lib/adapters/deno/deno_kv_store.ts";
import { Metrics } from "../../lib/metrics/metrics.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import { deleteFileTool } from "../support/approval_tools.ts";
import { apiClient } from "../support/http_client.ts";
import { histogramSeries, parsePrometheusText } from "../support/prometheus_text_parser.ts";
import { slowTool } from "../support/slow_tool.ts";
import { type ScriptedModelServer, startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

const SECRET = "step-stream-secret-0123456789abcdef";

/** One Server-Sent Event as the tests read it. */
type Sse = { event: string; data: unknown };

function serve(options: AppOptions) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, createApp(options).fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { base, api: apiClient(base), [Symbol.asyncDispose]: () => server.shutdown() };
}

/** POSTs with `Accept: text/event-stream`; the status, headers and, for a stream, its events (else the JSON). */
async function postStream(base: string, path: string, body: unknown = {}, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    return { status: response.status, headers: response.headers, json: JSON.parse(text), events: [] as Sse[] };
  }
  const events = text.split("\n\n").filter(Boolean).map((frame) => {
    const lines = frame.split("\n");
    const event = lines.find((l) => l.startsWith("event: "))!.slice(7);
    const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
    return { event, data: JSON.parse(data) };
  });
  return { status: response.status, headers: response.headers, json: undefined, events };
}

function agents(server: ScriptedModelServer) {
  const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", maxRetries: 0 });
  return {
    calc: new ToolCallingAgent({ name: "calc", model, tools: [calculatorTool, slowTool(1_500), deleteFileTool()] }),
  };
}

const ASK = { content: "Let me compute.", toolCalls: [{ name: "calculator", arguments: { expression: "6 * 7" } }] };

Deno.test("step routes with Accept: text/event-stream stream deltas, then exactly the JSON step body", async (t) => {
  await using model = await startScriptedModelServer();
  const kv = await Deno.openKv(":memory:");
  try {
    await using app = serve({ agents: agents(model), store: new DenoKvStore(kv), secret: SECRET, stepTimeoutMs: 400 });
    const { base, api } = app;

    await t.step("KV step: deltas, then one step event equal to the non-streamed (replayed) body", async () => {
      const runId = (await api.post("/v1/agents/calc/runs", { task: "6*7?" })).body.runId as string;
      model.enqueue(ASK);
      const streamed = await postStream(base, `/v1/runs/${runId}/steps`, {}, { "Idempotency-Key": "k1" });
      assert.equal(streamed.status, 200);
      assert.equal(streamed.headers.get("content-type"), "text/event-stream");
      const kinds = streamed.events.map((e) => e.event);
      assert.equal(kinds.at(-1), "step");
      assert.equal(kinds.filter((k) => k === "step").length, 1);
      const deltas = streamed.events.filter((e) => e.event === "delta").map((e) => e.data as Record<string, unknown>);
      assert.ok(deltas.length > 2);
      assert.ok(deltas.every((d) => d.type === "delta" && d.agent === "calc" && d.stepNumber === 1));
      const step = streamed.events.at(-1)!.data as { step: { modelOutput: string }; runId: string };
      assert.equal(deltas.map((d) => d.text ?? "").join(""), step.step.modelOutput);
      assert.equal(
        deltas.find((d) => d.toolCall)?.toolCall && (deltas.find((d) => d.toolCall)!.toolCall as { name: string }).name,
        "calculator",
      );
      // The same request without streaming (a replay of the key) answers exactly that body.
      const replay = await api.post(`/v1/runs/${runId}/steps`, {}, { "Idempotency-Key": "k1" });
      assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
      assert.deepEqual(replay.body, streamed.events.at(-1)!.data);
      // A streamed replay streams no deltas: only the step event, with the replay header.
      const again = await postStream(base, `/v1/runs/${runId}/steps`, {}, { "Idempotency-Key": "k1" });
      assert.deepEqual(again.events, [{ event: "step", data: replay.body }]);
      assert.equal(again.headers.get("Idempotent-Replayed"), "true");
      assert.equal(model.pending, 0);
    });

    await t.step("errors before the step are JSON responses, not streams", async () => {
      const missing = await postStream(base, "/v1/runs/00000000-0000-0000-0000-000000000000/steps");
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error.code, "run_not_found");
      const runId = (await api.post("/v1/agents/calc/runs", { task: "x" })).body.runId as string;
      model.enqueue({ status: 500, error: "model down" });
      const failed = await postStream(base, `/v1/runs/${runId}/steps`);
      assert.equal(failed.status, 502);
      assert.equal(failed.json.error.code, "model_error");
      assert.equal((await api.get(`/v1/runs/${runId}`)).body.stepNumber, 0);
    });

    await t.step("a failure after deltas is one error event; the run is unchanged and steps again", async () => {
      const runId = (await api.post("/v1/agents/calc/runs", { task: "wait" })).body.runId as string;
      model.enqueue({ content: "Waiting.", toolCalls: [{ name: "slow", arguments: {} }] });
      const streamed = await postStream(base, `/v1/runs/${runId}/steps`);
      assert.equal(streamed.status, 200);
      assert.ok(streamed.events.some((e) => e.event === "delta"));
      const last = streamed.events.at(-1)!;
      assert.equal(last.event, "error");
      const error = (last.data as { error: { code: string; retryable: boolean } }).error;
      assert.equal(error.code, "step_timeout");
      assert.equal(error.retryable, true);
      const run = (await api.get(`/v1/runs/${runId}`)).body;
      assert.equal(run.stepNumber, 0);
      assert.equal(run.status, "running");
      model.enqueue(toolCallReply("final_answer", { answer: "done" }));
      const next = await postStream(base, `/v1/runs/${runId}/steps`);
      assert.equal(next.events.at(-1)!.event, "step");
      assert.equal((next.events.at(-1)!.data as { status: string }).status, "succeeded");
    });

    await t.step("KV input: the resumed step answers as a stream", async () => {
      const runId = (await api.post("/v1/agents/calc/runs", { task: "pay bob" })).body.runId as string;
      model.enqueue(toolCallReply("delete_file", { path: "bob" }));
      const paused = await api.post(`/v1/runs/${runId}/steps`);
      assert.equal(paused.body.status, "awaiting_input");
      const resumed = await postStream(base, `/v1/runs/${runId}/input`, { approve: true });
      assert.equal(resumed.status, 200);
      assert.deepEqual(resumed.events.map((e) => e.event), ["step"]);
      const body = resumed.events[0].data as { status: string; runId: string };
      assert.equal(body.runId, runId);
      assert.equal(body.status, "running");
      assert.equal((await api.get(`/v1/runs/${runId}`)).body.stepNumber, 1);
    });

    await t.step("stateless step: the step event carries the new token; the token was used once", async () => {
      const created = await api.post("/v1/agents/calc/runs", { task: "6*7?", stateless: true });
      model.enqueue(ASK);
      const streamed = await postStream(base, "/v1/agents/calc/steps", { state: created.body.state });
      assert.equal(streamed.status, 200);
      assert.ok(streamed.events.filter((e) => e.event === "delta").length > 2);
      const step = streamed.events.at(-1)!;
      assert.equal(step.event, "step");
      const body = step.data as { agent: string; state: string; stepNumber: number; status: string };
      assert.equal(body.agent, "calc");
      assert.equal(body.stepNumber, 1);
      assert.equal(typeof body.state, "string");
      // The token was claimed: a replay is the usual JSON 409, not a stream.
      const replayed = await postStream(base, "/v1/agents/calc/steps", { state: created.body.state });
      assert.equal(replayed.status, 409);
      assert.equal(replayed.json.error.code, "token_replayed");
      // The new token steps on (without streaming) to the answer.
      model.enqueue(toolCallReply("final_answer", { answer: "42" }));
      const next = await api.post("/v1/agents/calc/steps", { state: body.state });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.finalAnswer, "42");
    });

    await t.step("stateless input: the resumed step answers as a stream with its token", async () => {
      const created = await api.post("/v1/agents/calc/runs", { task: "pay bob", stateless: true });
      model.enqueue(toolCallReply("delete_file", { path: "bob" }));
      const paused = await api.post("/v1/agents/calc/steps", { state: created.body.state });
      assert.equal(paused.body.status, "awaiting_input");
      const resumed = await postStream(base, "/v1/agents/calc/input", { state: paused.body.state, approve: true });
      assert.deepEqual(resumed.events.map((e) => e.event), ["step"]);
      assert.equal(typeof (resumed.events[0].data as { state: string }).state, "string");
    });
  } finally {
    kv.close();
  }
});

Deno.test("a streamed step holds its admission place, and is measured, until it ends, not until its response starts", async () => {
  await using model = await startScriptedModelServer();
  const metrics = new Metrics();
  await using app = serve({
    metrics,
    agents: agents(model),
    secret: SECRET,
    maxStepsInFlight: 1,
    allowStatelessReplay: true,
  });
  const created = await app.api.post("/v1/agents/calc/runs", { task: "wait", stateless: true });
  model.enqueue({ content: "Waiting.", toolCalls: [{ name: "slow", arguments: {} }] });
  const response = await fetch(`${app.base}/v1/agents/calc/steps`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ state: created.body.state }),
  });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  // The first delta arrives while the step (its 1.5 s tool) is still running.
  assert.match(first, /^event: delta\n/);
  const other = await app.api.post("/v1/agents/calc/steps", { state: created.body.state });
  assert.equal(other.status, 503);
  assert.equal(other.body.error.code, "overloaded");
  let rest = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    rest += new TextDecoder().decode(read.value);
  }
  assert.match(rest, /event: step\n/);
  const after = await app.api.post("/v1/agents/calc/steps", { state: created.body.state });
  assert.notEqual(after.status, 503);
  // The step's duration includes its 1.5 s tool, and its outcome is the step's (ok), not the response start's.
  const series = histogramSeries(parsePrometheusText(metrics.render()).get("smolstep_step_duration_seconds")!);
  const streamed = series.find((s) => s.labels.mode === "stateless" && s.labels.outcome === "ok");
  assert.ok(streamed && streamed.sum >= 1.4, JSON.stringify(series));
});

Deno.test("a streamed step that ends after its client left ends quietly: nothing written to the closed stream", async () => {
  // A step that outlives its client (a tool or sandbox that does not stop at the abort, a commit already under way).
  let finishStep!: () => void;
  const stepEnds = new Promise<void>((resolve) => finishStep = resolve);
  let stepDone!: () => void;
  const settled = new Promise<void>((resolve) => stepDone = resolve);
  const app = new Hono();
  app.onError(errorHandler);
  app.post("/step", (c) =>
    stepResponse(c, async (onDelta) => {
      onDelta!({ type: "delta", agent: "a", stepNumber: 1, text: "thinking" });
      await stepEnds;
      setTimeout(stepDone, 50);
      return { body: { ok: true } };
    }));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const logged: string[] = [];
  const originalError = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  try {
    const leave = new AbortController();
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/step`, {
      method: "POST",
      headers: { Accept: "text/event-stream" },
      signal: leave.signal,
    });
    const reader = response.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /event: delta/);
    leave.abort();
    await reader.cancel().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100)); // the server sees the client go
    finishStep();
    await settled;
    assert.deepEqual(logged, []);
  } finally {
    console.error = originalError;
    await server.shutdown();
  }
});
