import assert from "node:assert/strict";
import { scriptedModelEnv, startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

/**
 * Steps one run while `GET /health` is polled on the same server: returns the step's response and how long each
 * health check took. A step that blocked the server's event loop would hold every health check for its duration.
 */
async function stepWhilePollingHealth(url: string, runId: string) {
  const api = apiClient(url);
  let done = false;
  const step = api.post(`/v1/runs/${runId}/steps`).finally(() => done = true);
  const healthMs: number[] = [];
  while (!done) {
    const start = performance.now();
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    assert.equal(response.status, 200);
    healthMs.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { step: await step, healthMs };
}

Deno.test("Deno entry: a CodeAgent step that spins cannot freeze the server (functions/deno.ts)", async (t) => {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-isolation-" });
  const server = await startDenoEntry({
    ...scriptedModelEnv(model.url, dir),
    SMOLSTEP_SECRET: "e2e-secret-0123456789abcdef",
    SMOLSTEP_CODE_TIME_LIMIT_MS: "1000",
  });
  try {
    const api = apiClient(server.url);
    model.enqueue(
      "Thought: set a value first.\n<code>\nconst kept = 41;\nkept\n</code>",
      "Thought: spin.\n<code>\nprint('spinning');\nwhile (true) {}\n</code>",
      "Thought: search a huge array-like.\n<code>\nArray.prototype.indexOf.call({length: 2**40}, 1)\n</code>",
      "Thought: upper-case a big string forever.\n<code>\nconst big = 'a'.repeat(2 ** 22);\nfor (;;) big.toUpperCase();\n</code>",
      "Thought: done.\n<code>\nfinal_answer(kept + 1);\n</code>",
    );
    const { body: run } = await api.post("/v1/agents/coder/runs", { task: "Try to hang the server." });
    assert.equal((await api.post(`/v1/runs/${run.runId}/steps`)).body.status, "running");

    for (
      const [attack, errorName] of [
        ["while(true){}", "TimeoutError"],
        // The sandbox bounds this builtin before it starts: the step ends at once with a RangeError.
        ["Array.prototype.indexOf.call({length: 2**40}, 1)", "RangeError"],
        // Not bounded: ~40 ms of native work per call, and QuickJS polls its interrupt handler only every ~10,000
        // calls, so the code itself would not stop for minutes; the host ends the step at its time limit.
        ["for(;;) big.toUpperCase()", "TimeoutError"],
      ]
    ) {
      await t.step(`attack: ${attack} in a step; /health keeps answering and the step ends with an error`, async () => {
        const { step, healthMs } = await stepWhilePollingHealth(server.url, run.runId);
        assert.equal(step.status, 200, JSON.stringify(step.body));
        assert.equal(step.body.status, "running");
        const error = JSON.stringify(step.body.step);
        assert.match(error, new RegExp(`(${errorName}): `), error);
        if (errorName === "TimeoutError") {
          assert.match(error, /Execution exceeded the time limit of 1 s/);
          // The step ran for its whole time limit (about 1 s): the server answered health checks meanwhile.
          assert.ok(healthMs.length >= 2, `only ${healthMs.length} health checks ran during the step`);
        } else {
          assert.match(error, /over the sandbox's limit/);
        }
        const slowest = Math.max(...healthMs);
        assert.ok(slowest < 1_000, `a health check took ${Math.round(slowest)} ms while the step ran`);
      });
    }

    await t.step("the run is still usable: the next step sees the earlier variable and finishes", async () => {
      const last = await api.post(`/v1/runs/${run.runId}/steps`);
      assert.equal(last.status, 200, JSON.stringify(last.body));
      assert.equal(last.body.status, "succeeded");
      assert.equal(last.body.finalAnswer, 42);
    });
  } finally {
    await server.kill();
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
});
