import assert from "node:assert/strict";
import { ModelError, SmolstepError, ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { serveBackground } from "../support/background_app.ts";

/** An agent whose model always fails with `error` (counting its calls). */
function failingAgent(name: string, error: () => Error) {
  const calls = { count: 0 };
  const agent = new ToolCallingAgent({
    name,
    model: () => {
      calls.count++;
      throw error();
    },
  });
  return { agent, calls };
}

Deno.test("HTTP and background retries follow the error's retryable, not its class", async (t) => {
  const flaky = failingAgent("flaky", () => new ModelError("upstream 503", { status: 503, retryable: true }));
  const refused = failingAgent("refused", () => new ModelError("bad credentials (401)", { status: 401 }));
  const quota = failingAgent("quota", () => new SmolstepError("quota exhausted", { code: "quota", retryable: true }));
  const banned = failingAgent("banned", () => new SmolstepError("account closed", { code: "banned" }));
  const app = serveBackground({
    agents: { flaky: flaky.agent, refused: refused.agent, quota: quota.agent, banned: banned.agent },
    store: new MemoryStore(),
  });
  /** A background run of `agent`, read once the queue is idle. */
  const backgroundRun = async (agent: string) => {
    const { body } = await app.api.post(`/v1/agents/${agent}/runs`, { task: "x", background: true });
    await app.queue.idle();
    return (await app.api.get(`/v1/runs/${body.runId}`)).body;
  };
  try {
    await t.step("a KV step: 502 model_error either way; the body says whether a retry may help", async () => {
      for (
        const [name, retryable, hint] of [["flaky", true, /can be retried/], [
          "refused",
          false,
          /not changed\.$/,
        ]] as const
      ) {
        const { body: run } = await app.api.post(`/v1/agents/${name}/runs`, { task: "x" });
        const failed = await app.api.post(`/v1/runs/${run.runId}/steps`);
        assert.equal(failed.status, 502);
        assert.equal(failed.body.error.code, "model_error");
        assert.equal(failed.body.error.retryable, retryable);
        assert.match(failed.body.error.message, hint);
        assert.equal((await app.api.get(`/v1/runs/${run.runId}`)).body.status, "running", "the run is unchanged");
      }
    });

    await t.step("other error bodies carry retryable too (404 run_not_found: false)", async () => {
      const missing = await app.api.post("/v1/runs/no-such-run/steps");
      assert.deepEqual([missing.status, missing.body.error.code, missing.body.error.retryable], [
        404,
        "run_not_found",
        false,
      ]);
    });

    await t.step("background: a retryable failure is retried up to maxAttempts, then the run fails", async () => {
      flaky.calls.count = 0;
      const run = await backgroundRun("flaky");
      assert.equal(run.status, "failed");
      assert.equal(run.error.type, "AgentGenerationError");
      assert.match(run.error.message, /upstream 503.*gave up after 5 attempts/);
      assert.equal(flaky.calls.count, 5);
    });

    await t.step("background: a failure that is not retryable ends the run at once (one model call)", async () => {
      refused.calls.count = 0;
      const run = await backgroundRun("refused");
      assert.equal(run.status, "failed");
      assert.match(run.error.message, /bad credentials/);
      assert.doesNotMatch(run.error.message, /gave up/);
      assert.equal(refused.calls.count, 1);
    });

    await t.step(
      "background: a SmolstepError from a model is retried or not by its retryable, whatever its class",
      async () => {
        assert.match((await backgroundRun("quota")).error.message, /quota exhausted.*after 5/);
        assert.equal(quota.calls.count, 5);
        const closed = await backgroundRun("banned");
        assert.equal(closed.error.type, "AgentGenerationError");
        assert.match(closed.error.message, /account closed$/);
        assert.equal(banned.calls.count, 1, "not retryable: one call");
      },
    );
  } finally {
    await app.close();
  }
});
