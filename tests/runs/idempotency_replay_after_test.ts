import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { stepView } from "../../lib/http/run_views.ts";
import { deleteFileTool } from "../support/approval_tools.ts";

/** A model that answers a plain message (no tool call: the run goes on) after `delayMs`. */
function slowChatAgent(delayMs: number) {
  return new ToolCallingAgent({
    name: "slow",
    maxSteps: 10,
    model: async () => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { content: "thinking" };
    },
  });
}

Deno.test("Idempotency-Key replay of a step whose commit applied a cancellation answers as that step did", async () => {
  const service = new RunService(new MemoryStore());
  const agent = slowChatAgent(100);
  const { runId } = await service.create("slow", agent.start("task"));
  const stepping = service.step(runId, agent, { idempotencyKey: "k1" });
  await new Promise((resolve) => setTimeout(resolve, 30));
  // The step holds the lock: the cancel is a flag, applied by the step's own commit.
  assert.equal((await service.cancel(runId)).state.status, "running");
  const first = await stepping;
  assert.equal(first.after.status, "cancelled", "the step's answer says the run was cancelled");

  const replay = await service.step(runId, agent, { idempotencyKey: "k1" });
  assert.equal(replay.replayed, true);
  assert.deepEqual(replay.step, first.step);
  // What `POST /v1/runs/{id}/steps` answers with, both times.
  const answer = (outcome: typeof first) => stepView(outcome.after, outcome.step, outcome.agent);
  assert.deepEqual(answer(replay), answer(first), "a retry is answered exactly as the step was");
});

Deno.test("Idempotency-Key replay of a step request that applied a pending cancellation answers as it did", async () => {
  const store = new MemoryStore();
  const service = new RunService(store);
  const agent = slowChatAgent(1);
  const { runId } = await service.create("slow", agent.start("task"));
  // A cancel flag its step's commit did not see (written after the commit read it): the next step request applies it.
  await store.put(`runs/${runId}/cancel`, String(Date.now()));
  const first = await service.step(runId, agent, { idempotencyKey: "k2" });
  assert.deepEqual([first.after.status, first.step, first.replayed], ["cancelled", null, false]);

  const replay = await service.step(runId, agent, { idempotencyKey: "k2" });
  assert.equal(replay.replayed, true, "not 409 run_finished: the retry is a replay");
  const answer = (outcome: typeof first) => stepView(outcome.after, outcome.step, outcome.agent);
  assert.deepEqual(answer(replay), answer(first));
});

Deno.test("Idempotency-Key replay of a step that paused: its pending input while the run waits there, none after", async () => {
  const deleted: string[] = [];
  let calls = 0;
  const agent = new ToolCallingAgent({
    name: "cleaner",
    tools: [deleteFileTool(deleted)],
    model: () => {
      const call = calls++ === 0
        ? { name: "delete_file", arguments: { path: "/tmp/old" } }
        : { name: "final_answer", arguments: { answer: "done" } };
      return Promise.resolve({
        role: "assistant" as const,
        content: null,
        toolCalls: [{ id: `c${calls}`, type: "function" as const, function: call }],
      });
    },
  });
  const service = new RunService(new MemoryStore());
  const { runId } = await service.create("cleaner", agent.start("clean up"));
  const first = await service.step(runId, agent, { idempotencyKey: "pause" });
  assert.equal(first.after.status, "awaiting_input");
  assert.equal(first.after.pendingInput?.kind, "approval");
  const answer = (outcome: typeof first) => stepView(outcome.after, outcome.step, outcome.agent);

  const whileWaiting = await service.step(runId, agent, { idempotencyKey: "pause" });
  assert.deepEqual(answer(whileWaiting), answer(first), "the same body, pending input included");

  await service.resume(runId, agent, { approve: true });
  assert.deepEqual(deleted, ["/tmp/old"]);
  // Once answered, the paused step's slot holds the completed step, and its pending input is not kept per key.
  const { step, pendingInput, ...afterAnswer } = answer(await service.step(runId, agent, { idempotencyKey: "pause" }));
  const { step: _paused, pendingInput: _answered, ...asPaused } = answer(first);
  assert.deepEqual(afterAnswer, asPaused, "status, step number and token usage as the pause left them");
  assert.deepEqual([pendingInput, step && "observations" in step && step.observations], [
    undefined,
    "deleted /tmp/old",
  ]);
  assert.deepEqual(deleted, ["/tmp/old"], "nothing ran again");
});
