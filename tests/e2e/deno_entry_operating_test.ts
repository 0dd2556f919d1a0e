import assert from "node:assert/strict";
import { join } from "node:path";
import { startDenoEntry } from "../support/deno_entry.ts";
import { apiClient } from "../support/http_client.ts";
import { startHungModelServer } from "../support/hung_model_server.ts";

/**
 * `functions/deno.ts` as `deno task start` runs it: quiet logs (no `request.signal` legacy-abort warning after a
 * step), a client that leaves mid-step abandons the model call and leaves the run unchanged, and the example
 * model's time limits come from the environment.
 */
Deno.test("Deno entry: quiet logs, clients that leave, model time limits from the environment", async (t) => {
  const model = startHungModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-operating-" });
  const server = await startDenoEntry({
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "test-key",
    SMOLSTEP_SECRET: "operating-secret-0123456789",
    SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
    SMOLSTEP_LOCK_TTL_MS: "120000",
    SMOLSTEP_MODEL_TIMEOUT_MS: "5000",
    SMOLSTEP_MODEL_MAX_RETRIES: "0",
  });
  const api = apiClient(server.url);
  let output = "";
  try {
    await t.step("a step succeeds", async () => {
      model.answerWith({ answer: "hello" });
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "hi" });
      const step = await api.post(`/v1/runs/${run.runId}/steps`, {});
      assert.equal(step.status, 200, JSON.stringify(step.body));
      assert.equal(step.body.finalAnswer, "hello");
    });

    await t.step("a client that leaves mid-step: model call abandoned, no lock left, the run steps again", async () => {
      model.answerWith(undefined);
      const { body: run } = await api.post("/v1/agents/assistant/runs", { task: "leave" });
      const [received, abandoned] = [model.received, model.abandoned];
      const client = new AbortController();
      const request = fetch(`${server.url}/v1/runs/${run.runId}/steps`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        signal: client.signal,
      }).catch((error) => error);
      for (let i = 0; i < 500 && model.received === received; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(model.received, received + 1, "the step reached the model");
      client.abort();
      assert.equal((await request).name, "AbortError");
      // Well before the 5 s model timeout: only the client's leaving can have ended the call.
      for (let i = 0; i < 300 && model.abandoned === abandoned; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(model.abandoned, abandoned + 1, "the model call was abandoned");
      model.answerWith({ answer: "after all" });
      // The lock lasts two minutes: a step that is not 409 step_in_progress proves it was given back.
      let again = await api.post(`/v1/runs/${run.runId}/steps`, {});
      for (let i = 0; i < 100 && again.body?.error?.code === "step_in_progress"; i++) {
        await new Promise((r) => setTimeout(r, 20));
        again = await api.post(`/v1/runs/${run.runId}/steps`, {});
      }
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.finalAnswer, "after all");
      const view = await api.get(`/v1/runs/${run.runId}`);
      assert.deepEqual(
        view.body.steps.map((step: { type: string }) => step.type),
        ["task", "action", "final_answer"],
        "one step, none from the abandoned request",
      );
    });
  } finally {
    output = await server.kill();
    await model.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  await t.step("no legacy-abort warning on stderr after the steps", () => {
    assert.match(output, /Listening on/, "the output was captured");
    assert.doesNotMatch(output, /legacy behavior|request\.signal|unstable-no-legacy-abort/);
  });
});
