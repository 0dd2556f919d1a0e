import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { createRunForDelivery } from "../../lib/runs/delivery_runs.ts";
import { functionModel } from "../support/function_model.ts";

Deno.test("createRunForDelivery: one run per delivery, and nothing left behind when starting fails", async (t) => {
  const runs = new RunService(new MemoryStore());
  const agent = new ToolCallingAgent({ name: "triage", model: functionModel([]).model });
  const state = agent.start("Issue opened");
  const options = { replayKey: "standard:msg_1", windowSeconds: 60 };
  const started: string[] = [];
  const start = (record: { runId: string }) => (started.push(record.runId), Promise.resolve());

  await t.step(
    "the first delivery creates and starts a background run; a replay finds it and starts nothing",
    async () => {
      const first = await createRunForDelivery(runs, "triage", state, {
        ...options,
        callbackUrl: "https://example.com/cb",
        start,
      });
      assert.equal(first.status, "created");
      if (first.status !== "created") return;
      assert.equal(first.record.background, true);
      assert.equal(first.record.callbackUrl, "https://example.com/cb");
      assert.deepEqual(started, [first.record.runId]);
      const replay = await createRunForDelivery(runs, "triage", state, { ...options, start });
      assert.deepEqual(replay, { status: "duplicate", runId: first.record.runId });
      assert.equal(started.length, 1);
    },
  );

  await t.step(
    "a run that cannot be started is ended failed and the claim released: the retry starts afresh",
    async () => {
      let abandoned = "";
      const broken = (record: { runId: string }) => (abandoned = record.runId, Promise.reject(new Error("queue down")));
      const retryOptions = { replayKey: "standard:msg_2", windowSeconds: 60 };
      await assert.rejects(
        createRunForDelivery(runs, "triage", state, { ...retryOptions, start: broken }),
        /queue down/,
      );
      const failed = (await runs.get(abandoned))?.record.state;
      assert.equal(failed?.status, "failed");
      assert.deepEqual(failed?.error, { type: "WebhookError", message: "The run could not be started." });
      const retried = await createRunForDelivery(runs, "triage", state, { ...retryOptions, start });
      assert.equal(retried.status, "created");
      assert.notEqual(retried.status === "created" && retried.record.runId, abandoned);
    },
  );
});

Deno.test("createRunForDelivery: a replay starts the run a crashed process created but never started", async () => {
  const runs = new RunService(new MemoryStore(), { lockTtlMs: 100, stepTimeoutMs: 50 });
  const agent = new ToolCallingAgent({ name: "triage", model: functionModel([]).model });
  const options = { replayKey: "standard:msg_crash", windowSeconds: 60 };
  const started: string[] = [];
  const start = (record: { runId: string }) => (started.push(record.runId), Promise.resolve());
  // The first process records the claim and the run, then dies before queueing the first step (start never returns).
  let created = "";
  const dying = (record: { runId: string }) => (created = record.runId, new Promise<void>(() => {}));
  void createRunForDelivery(runs, "triage", agent.start("Issue opened"), { ...options, start: dying });
  while (!created) await new Promise((resolve) => setTimeout(resolve, 5));

  const early = await createRunForDelivery(runs, "triage", agent.start("Issue opened"), { ...options, start });
  assert.deepEqual([early, started], [{ status: "duplicate", runId: created }, []], "it may be starting right now");
  await new Promise((resolve) => setTimeout(resolve, 150)); // longer than a lock: it would have stepped by now
  const late = await createRunForDelivery(runs, "triage", agent.start("Issue opened"), { ...options, start });
  assert.deepEqual([late, started], [{ status: "duplicate", runId: created }, [created]], "started by the replay");
});
