import assert from "node:assert/strict";
import { scriptedModelEnv, startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";

/**
 * functions/deno.ts aborts the steps that outlast SMOLSTEP_SHUTDOWN_GRACE_MS instead of dying under them: a KV run
 * is left as it was and unlocked, a stateless token's claim is freed, and a background step's queue message is
 * delivered again, so the next process on the same Deno KV file takes over at once (not after the lock's or the
 * claim's 5 minutes).
 */

const GRACE_MS = 300;
/** The model's reply takes this long: well past the grace. */
const SLOW_MS = 5_000;
/** Bound on a stop past the grace: the aborted steps' releases (at most 2 s) and the log flush, with room for load. */
const STOP_BOUND_MS = 4_500;

async function setup() {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-shutdown-abort-" });
  const env = {
    ...scriptedModelEnv(model.url, dir),
    SMOLSTEP_SECRET: "shutdown-abort-secret-0123456789abcdef",
    SMOLSTEP_SHUTDOWN_GRACE_MS: String(GRACE_MS),
  };
  const cleanup = async () => {
    await model.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return { model, env, cleanup };
}

/** Resolves once the model has received more than `before` requests (bounded). */
async function modelReached(model: { requests: unknown[] }, before: number) {
  for (let i = 0; i < 1000 && model.requests.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(model.requests.length, before + 1, "the step reached the model");
}

/** POSTs without waiting: the answer, or the error of a connection cut off. */
function postLater(url: string, body: unknown) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
    .then(async (r) => ({ status: r.status, body: await r.json() }), (error: Error) => error);
}

/** The aborted step was answered before the process exited: 503 `shutting_down`, retryable. */
async function answeredShuttingDown(answer: ReturnType<typeof postLater>) {
  const answered = await answer;
  assert.ok(!(answered instanceof Error), `the aborted step was not answered: ${answered}`);
  assert.equal(answered.status, 503, JSON.stringify(answered.body));
  assert.deepEqual([answered.body.error.code, answered.body.error.retryable], ["shutting_down", true]);
}

/** SIGTERM; checks the exit code and that the stop took at most the grace and the bound. */
async function stopWithin(server: Awaited<ReturnType<typeof startDenoEntry>>) {
  const started = performance.now();
  const { status, output } = await server.stop();
  const waitedMs = performance.now() - started;
  assert.equal(status.code, 143, output);
  assert.ok(waitedMs < GRACE_MS + STOP_BOUND_MS, `the stop took ${Math.round(waitedMs)} ms`);
  return output;
}

Deno.test("Deno entry: a KV step past the grace is aborted: the run is left as it was, and unlocked", async () => {
  const { model, env, cleanup } = await setup();
  let server = await startDenoEntry(env);
  try {
    const api = apiClient(server.url);
    const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "stop me" });
    const before = (await api.get(`/v1/runs/${run.runId}`)).body;
    model.enqueue({ ...toolCallReply("final_answer", { answer: "never kept" }), delayMs: SLOW_MS });
    const requests = model.requests.length;
    const answer = postLater(`${server.url}/v1/runs/${run.runId}/steps`, {});
    await modelReached(model, requests);

    await stopWithin(server);

    server = await startDenoEntry(env);
    const next = apiClient(server.url);
    assert.deepEqual((await next.get(`/v1/runs/${run.runId}`)).body, before, "the aborted step left nothing");
    model.enqueue(toolCallReply("final_answer", { answer: "stepped on the next process" }));
    const stepped = await next.post(`/v1/runs/${run.runId}/steps`, {});
    assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
    assert.equal(stepped.body.finalAnswer, "stepped on the next process");
    assert.equal(stepped.body.stepNumber, 1, "the run's first step, as before the stop");
    await answeredShuttingDown(answer);
  } finally {
    await server.kill();
    await cleanup();
  }
});

Deno.test("Deno entry: a stateless step past the grace is aborted: the same token steps on the next process", async () => {
  const { model, env, cleanup } = await setup();
  let server = await startDenoEntry(env);
  try {
    const first = await apiClient(server.url).post("/v1/agents/assistant/runs", { task: "stop me", stateless: true });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const token = first.body.state as string;

    model.enqueue({ ...toolCallReply("final_answer", { answer: "never kept" }), delayMs: SLOW_MS });
    const requests = model.requests.length;
    const answer = postLater(`${server.url}/v1/agents/assistant/steps`, { state: token });
    await modelReached(model, requests);
    await stopWithin(server);

    server = await startDenoEntry(env);
    model.enqueue(toolCallReply("final_answer", { answer: "the token stepped again" }));
    const again = await apiClient(server.url).post("/v1/agents/assistant/steps", { state: token });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.finalAnswer, "the token stepped again");
    await answeredShuttingDown(answer);
  } finally {
    await server.kill();
    await cleanup();
  }
});

Deno.test("Deno entry: a background step past the grace is aborted and its message delivered to the next process", async () => {
  const { model, env, cleanup } = await setup();
  let server = await startDenoEntry(env);
  try {
    model.enqueue({ ...toolCallReply("final_answer", { answer: "never kept" }), delayMs: SLOW_MS });
    const requests = model.requests.length;
    const started = await apiClient(server.url).post("/v1/agents/assistant/runs", {
      task: "stop me in the background",
      background: true,
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const runId = started.body.runId as string;
    await modelReached(model, requests);
    await stopWithin(server);

    model.enqueue(toolCallReply("final_answer", { answer: "continued after the restart" }));
    server = await startDenoEntry(env);
    const api = apiClient(server.url);
    // The aborted step's message was queued again (after SMOLSTEP_RETRY_DELAY_MS, 1 s by default): the next process
    // steps the run at once, not after the 5-minute lock and its watchdog copy.
    const deadline = Date.now() + 20_000;
    let run = (await api.get(`/v1/runs/${runId}`)).body;
    while (run.status === "running" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      run = (await api.get(`/v1/runs/${runId}`)).body;
    }
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.finalAnswer, "continued after the restart");
    assert.equal(run.stepNumber, 1, "only the step of the next process was kept");
  } finally {
    await server.kill();
    await cleanup();
  }
});
