import assert from "node:assert/strict";
import { kvProtocol, runClient, statelessProtocol } from "../../bench/load/client.ts";
import type { RetryPolicy } from "../../bench/load/retry_policy.ts";
import { LevelRecorder } from "../../bench/load/stats.ts";

/** Retries at once, so the tests take no longer than the servers make them. */
const fast: RetryPolicy = { baseDelayMs: 1, maxDelayMs: 1, retryAfterCapMs: 0, maxAttempts: 10 };

/** A loopback server; `handler` sees every request. */
function serve(handler: (req: Request) => Response | Promise<Response>) {
  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ready.resolve }, handler);
  return {
    url: ready.promise.then(({ port }) => `http://127.0.0.1:${port}`),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const error = (status: number, code: string, headers?: Record<string, string>) =>
  Response.json({ error: { code, message: code } }, { status, headers });

/** A whole-test window: everything counts. */
const wideOpen = () => new LevelRecorder(Date.now() - 1_000, Date.now() + 60_000);

Deno.test("KV client: every step retried on 503 and 409 with the same Idempotency-Key, a run per 3 steps", async () => {
  let runs = 0;
  /** Per run: the key of each step, and how many attempts each key got. */
  const keys = new Map<string, Map<string, number>>();
  let committed = 0;
  await using server = serve(async (req) => {
    const path = new URL(req.url).pathname;
    await req.body?.cancel();
    if (path === "/v1/agents/a/runs") return Response.json({ runId: `r${++runs}`, status: "running" }, { status: 201 });
    const runId = path.match(/^\/v1\/runs\/(r\d+)\/steps$/)![1];
    const key = req.headers.get("idempotency-key")!;
    const attempts = keys.get(runId) ?? new Map<string, number>();
    keys.set(runId, attempts);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (attempt === 1) return error(503, "overloaded", { "retry-after": "0" });
    if (attempt === 2) return error(409, "step_in_progress");
    committed++;
    return Response.json({ runId, status: attempts.size < 3 ? "running" : "succeeded" });
  });
  const recorder = wideOpen();
  const result = await runClient(kvProtocol("a"), {
    baseUrl: await server.url,
    recorder,
    policy: fast,
    maxRuns: 3,
    newRunsUntil: Date.now() + 60_000,
    stopAt: Date.now() + 30_000,
  });
  assert.equal(result.unfinished, undefined);
  assert.equal(runs, 3);
  for (const [runId, attempts] of keys) {
    assert.equal(attempts.size, 3, `${runId}: one key per step`);
    for (const count of attempts.values()) assert.equal(count, 3, `${runId}: each step tried 3 times`);
  }
  const allKeys = [...keys.values()].flatMap((attempts) => [...attempts.keys()]);
  assert.equal(new Set(allKeys).size, allKeys.length, "keys are never reused across steps");
  assert.equal(recorder.steps, committed);
  assert.equal(recorder.steps, runs * 3);
  assert.equal(recorder.runsFinished, runs);
  assert.equal(recorder.runsAbandoned, 0);
  assert.deepEqual(recorder.errors.entries().sort(), [["409 step_in_progress", committed], [
    "503 overloaded",
    committed,
  ]]);
  assert.equal(recorder.latencies.length, committed);
});

Deno.test("KV client: a step it timed out on is retried with the same key; the timeout is tallied", async () => {
  const attemptsByKey = new Map<string, number>();
  await using server = serve(async (req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/runs")) return Response.json({ runId: "r1", status: "running" }, { status: 201 });
    const key = req.headers.get("idempotency-key")!;
    const attempt = (attemptsByKey.get(key) ?? 0) + 1;
    attemptsByKey.set(key, attempt);
    // The first attempt of each step hangs until the client gives up on it.
    if (attempt === 1) await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
    return Response.json({ runId: "r1", status: attemptsByKey.size < 3 ? "running" : "succeeded" });
  });
  const recorder = wideOpen();
  await runClient(kvProtocol("a"), {
    baseUrl: await server.url,
    recorder,
    policy: fast,
    timeoutMs: 100,
    maxRuns: 1,
    newRunsUntil: Date.now() + 60_000,
    stopAt: Date.now() + 30_000,
  });
  assert.deepEqual([...attemptsByKey.values()], [2, 2, 2]);
  assert.equal(recorder.steps, 3);
  assert.equal(recorder.runsFinished, 1);
  assert.deepEqual(recorder.errors.entries(), [["timeout", 3]]);
});

Deno.test("KV client: stopped mid-run, it reports the run it leaves behind", async () => {
  await using server = serve(async (req) => {
    if (new URL(req.url).pathname.endsWith("/runs")) {
      return Response.json({ runId: "left", status: "running" }, { status: 201 });
    }
    await new Promise((resolve) => req.signal.addEventListener("abort", resolve)); // every step hangs
    return error(504, "step_deadline");
  });
  const recorder = wideOpen();
  const result = await runClient(kvProtocol("a"), {
    baseUrl: await server.url,
    recorder,
    policy: fast,
    maxRuns: 1,
    newRunsUntil: Date.now() + 60_000,
    stopAt: Date.now() + 300,
  });
  assert.deepEqual(result.unfinished, { runId: "left" });
  assert.equal(recorder.steps, 0);
  assert.equal(recorder.runsStarted, 1);
});

Deno.test("stateless client: a replayed token gives the run up and starts a new one", async () => {
  let creates = 0;
  const tokens: string[] = [];
  const authorizations = new Set<string | null>();
  await using server = serve(async (req) => {
    const path = new URL(req.url).pathname;
    authorizations.add(req.headers.get("authorization"));
    const body = await req.json();
    if (path === "/v1/agents/a/runs") {
      assert.equal(body.stateless, true);
      creates++;
      return Response.json({ status: "running", state: `t${creates}.0` }, { status: 201 });
    }
    tokens.push(body.state);
    // Every run's second step finds its token used.
    if (body.state.endsWith(".1")) return error(409, "token_replayed");
    return Response.json({ status: "running", state: body.state.replace(/\.0$/, ".1") });
  });
  const recorder = wideOpen();
  await runClient(statelessProtocol("a"), {
    baseUrl: await server.url,
    headers: { authorization: "Bearer key-1" },
    recorder,
    policy: fast,
    maxRuns: 3,
    newRunsUntil: Date.now() + 60_000,
    stopAt: Date.now() + 30_000,
  });
  assert.equal(creates, 3, "a new run after each one given up");
  assert.deepEqual(tokens.slice(0, 4), ["t1.0", "t1.1", "t2.0", "t2.1"], "each answer's token is sent next");
  assert.equal(recorder.runsAbandoned, creates);
  assert.equal(recorder.steps, creates);
  assert.deepEqual(recorder.errors.entries(), [["409 token_replayed", creates]]);
  assert.deepEqual([...authorizations], ["Bearer key-1"], "the client's headers go with every request");
});

Deno.test("firstStep clients: the create is the run's first step and counts as one; a run may end there", async () => {
  const bodies: Array<Record<string, unknown>> = [];
  let creates = 0;
  await using server = serve(async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.json().catch(() => ({}));
    if (path === "/v1/agents/a/runs") {
      bodies.push(body);
      creates++;
      // The second run ends with its first step; the others take one step more.
      const status = creates === 2 ? "succeeded" : "running";
      return Response.json({ runId: `r${creates}`, status, state: `t${creates}` }, { status: 201 });
    }
    return Response.json({ runId: "r", status: "succeeded", state: "t" });
  });
  for (const protocol of [kvProtocol("a", { firstStep: true }), statelessProtocol("a", { firstStep: true })]) {
    const recorder = wideOpen();
    creates = 0;
    await runClient<{ runId: string } | { token: string }>(protocol, {
      baseUrl: await server.url,
      recorder,
      policy: fast,
      maxRuns: 3,
      newRunsUntil: Date.now() + 60_000,
      stopAt: Date.now() + 30_000,
    });
    // 3 creates (each a step), 2 of them followed by one more step.
    assert.deepEqual([recorder.steps, recorder.runsStarted, recorder.runsFinished], [5, 3, 3]);
  }
  assert.ok(bodies.every((body) => body.firstStep === true), JSON.stringify(bodies));
  assert.deepEqual(bodies.map((body) => body.stateless ?? false), [false, false, false, true, true, true]);
});
