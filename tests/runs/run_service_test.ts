import assert from "node:assert/strict";
import { type AgentState, type MultiStepAgent, ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { RunError, type RunRecord } from "../../lib/runs/run_record.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { functionModel } from "../support/function_model.ts";

function slowAgent(delayMs: number, answers: string[]) {
  const queue = [...answers];
  return new ToolCallingAgent({
    name: "slow",
    model: async () => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return {
        content: null,
        toolCalls: [{
          id: "c",
          type: "function",
          function: { name: "final_answer", arguments: { answer: queue.shift() } },
        }],
      };
    },
  });
}

async function rejectsWithCode(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: Error) => error instanceof RunError && error.code === code);
}

Deno.test("RunService: two isolates sharing a store never both step a run", async () => {
  const store = new MemoryStore();
  const [isolateA, isolateB] = [new RunService(store), new RunService(store)];
  const agent = slowAgent(100, ["a", "b"]);
  const { runId } = await isolateA.create("slow", agent.start("task"));
  const results = await Promise.allSettled([isolateA.step(runId, agent), isolateB.step(runId, agent)]);
  const fulfilled = results.filter((r) => r.status === "fulfilled");
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  assert.equal(fulfilled.length, 1);
  assert.equal(rejected.length, 1);
  assert.equal((rejected[0].reason as RunError).code, "step_in_progress");
  const stored = await isolateB.get(runId);
  assert.deepEqual(stored?.record.state.steps.map((s) => s.type), ["task", "action", "final_answer"]);
  assert.equal(stored?.record.lock, null, "the lock is released on commit");
});

Deno.test("RunService: a crashed step's lock expires; a lost step is discarded, not committed", async (t) => {
  const store = new MemoryStore();
  const service = new RunService(store, { lockTtlMs: 50 });
  const agent = slowAgent(0, ["first", "second"]);
  const { runId } = await service.create("slow", agent.start("task"));

  await t.step("a live lock blocks, an expired one does not", async () => {
    const current = (await service.get(runId))!;
    const locked: RunRecord = { ...current.record, lock: { id: "crashed", expiresAt: Date.now() + 60_000 } };
    await store.put(`runs/${runId}`, JSON.stringify(locked));
    await rejectsWithCode(service.step(runId, agent), "step_in_progress");
    const expired: RunRecord = { ...current.record, lock: { id: "crashed", expiresAt: Date.now() - 1 } };
    await store.put(`runs/${runId}`, JSON.stringify(expired));
    const outcome = await service.step(runId, agent);
    assert.equal(outcome.record.state.finalAnswer, "first");
  });

  await t.step("a step whose lock was taken over cannot commit", async () => {
    // A step that ignores its signal (a stalled process, a tool that never checks it) outlives its deadline.
    const fastAnswer = slowAgent(0, ["late"]);
    const slow = {
      step: async (state: AgentState) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return await fastAnswer.step(state);
      },
    } as unknown as MultiStepAgent;
    const { runId: id } = await service.create("slow", fastAnswer.start("task"));
    const late = service.step(id, slow);
    await new Promise((resolve) => setTimeout(resolve, 80)); // the 50 ms lock has expired
    const other = new RunService(store, { lockTtlMs: 50 });
    const fast = slowAgent(0, ["taken over"]);
    const winner = await other.step(id, fast);
    assert.equal(winner.record.state.finalAnswer, "taken over");
    await rejectsWithCode(late, "step_lost");
    const stored = await service.get(id);
    assert.equal(stored?.record.state.finalAnswer, "taken over");
    assert.deepEqual(stored?.record.state.steps.map((s) => s.type), ["task", "action", "final_answer"]);
  });
});

Deno.test("RunService: a failing step releases the lock and leaves the state as it was", async () => {
  const store = new MemoryStore();
  const service = new RunService(store);
  const { model } = functionModel([new Error("network down"), { calls: [["final_answer", { answer: 1 }]] }]);
  const agent = new ToolCallingAgent({ model, name: "flaky" });
  const { runId, state } = await service.create("flaky", agent.start("task"));
  await assert.rejects(() => service.step(runId, agent), /network down/);
  const after = (await service.get(runId))!;
  assert.deepEqual(after.record.state, state);
  assert.equal(after.record.lock, null);
  const retried = await service.step(runId, agent);
  assert.equal(retried.record.state.status, "succeeded");
});

Deno.test("RunService: idempotency keys are bounded and replay exactly their step", async () => {
  const store = new MemoryStore();
  const service = new RunService(store);
  const { model } = functionModel(Array.from({ length: 60 }, () => ({ content: "no tool call" })));
  const agent = new ToolCallingAgent({ model, name: "chatty", maxSteps: 100 });
  const { runId } = await service.create("chatty", agent.start("task"));
  const steps = [];
  for (let i = 0; i < 55; i++) steps.push((await service.step(runId, agent, { idempotencyKey: `k${i}` })).step);
  const replay = await service.step(runId, agent, { idempotencyKey: "k54" });
  assert.equal(replay.replayed, true);
  assert.deepEqual(replay.step, steps[54]);
  const stored = (await service.get(runId))!;
  assert.equal(stored.record.idempotency.length, 50);
  assert.equal(stored.record.state.stepNumber, 55);
});

Deno.test("RunService: an idempotency key replays a managed agent's step too", async () => {
  const helper = new ToolCallingAgent({
    name: "helper",
    description: "Answers.",
    model: functionModel([{ calls: [["calculator_free", {}]] }, { calls: [["final_answer", { answer: 1 }]] }]).model,
  });
  const manager = new ToolCallingAgent({
    name: "boss",
    model: functionModel([{ calls: [["helper", { task: "help" }]] }]).model,
    managedAgents: [helper],
  });
  const service = new RunService(new MemoryStore());
  const { runId } = await service.create("boss", manager.start("task"));
  await service.step(runId, manager); // the manager calls the helper
  const first = await service.step(runId, manager, { idempotencyKey: "k1" }); // the helper's first step
  assert.equal(first.agent, "boss/helper");
  const replay = await service.step(runId, manager, { idempotencyKey: "k1" });
  assert.equal(replay.replayed, true);
  assert.deepEqual(replay.step, first.step);
});
