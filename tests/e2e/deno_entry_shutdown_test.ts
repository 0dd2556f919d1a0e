import assert from "node:assert/strict";
import { scriptedModelEnv, startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/**
 * functions/deno.ts stops as a redeploy expects: on SIGTERM it takes no new connections, lets a step in flight finish
 * and commit, writes its logs, then exits itself with 143. A step that outlasts SMOLSTEP_SHUTDOWN_GRACE_MS does not
 * keep the process up: it is aborted, and answered 503 `shutting_down`.
 */
async function entry(graceMs: number) {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-shutdown-" });
  const server = await startDenoEntry({
    ...scriptedModelEnv(model.url, dir),
    SMOLSTEP_SECRET: "shutdown-secret-0123456789abcdef",
    SMOLSTEP_SHUTDOWN_GRACE_MS: String(graceMs),
  });
  const cleanup = async () => {
    await model.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return { model, server, api: apiClient(server.url), cleanup };
}

/** Starts a step whose model reply takes `delayMs`, and resolves once the model has the request. */
async function stepInFlight(setup: Awaited<ReturnType<typeof entry>>, delayMs: number) {
  const { model, server, api } = setup;
  const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "drain" });
  model.enqueue({ ...toolCallReply("final_answer", { answer: "finished during the stop" }), delayMs });
  const before = model.requests.length;
  const response = fetch(`${server.url}/v1/runs/${run.runId}/steps`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  }).then(async (r) => ({ status: r.status, body: await r.json() }), (error: Error) => error);
  for (let i = 0; i < 500 && model.requests.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(model.requests.length, before + 1, "the step reached the model");
  return { runId: run.runId as string, response };
}

Deno.test("Deno entry: SIGTERM lets the step in flight finish and commit, then exits with 143", async () => {
  const setup = await entry(10_000);
  try {
    const { response } = await stepInFlight(setup, 1_000);
    const stopped = setup.server.stop();
    const answered = await response;
    assert.ok(!(answered instanceof Error), `the step in flight was cut off: ${answered}`);
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal(answered.body.finalAnswer, "finished during the stop");
    const { status, stdout } = await stopped;
    assert.equal(status.signal, null, "the entry exits itself");
    assert.equal(status.code, 143);
    const lines = stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    assert.ok(
      lines.some((line) => line.route === "/v1/runs/:runId/steps" && line.status === 200),
      "the drained step's log line was written",
    );
    const refused = await fetch(`${setup.server.url}/health`).then(() => "answered", () => "refused");
    assert.equal(refused, "refused", "nothing listens after the stop");
  } finally {
    await setup.cleanup();
  }
});

Deno.test("Deno entry: a step that outlasts SMOLSTEP_SHUTDOWN_GRACE_MS does not keep the process up", async () => {
  const setup = await entry(300);
  try {
    const { response } = await stepInFlight(setup, 20_000);
    const started = performance.now();
    const { status } = await setup.server.stop();
    const waitedMs = performance.now() - started;
    assert.equal(status.code, 143);
    // Well under the model's 20 s: the grace (300 ms), the aborted steps' releases and the log flush (at most 2 s
    // each) bound the stop.
    assert.ok(waitedMs < 10_000, `the stop waited ${Math.round(waitedMs)} ms`);
    // The unfinished step was aborted (its run given back: tests/e2e/deno_entry_shutdown_abort_test.ts) and answered.
    const answered = await response;
    assert.ok(!(answered instanceof Error), `the unfinished step was cut off unanswered: ${answered}`);
    assert.deepEqual([answered.status, answered.body.error.code], [503, "shutting_down"]);
  } finally {
    await setup.cleanup();
  }
});
