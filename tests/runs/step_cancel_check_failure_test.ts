import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore, type StoredValue } from "../../lib/server.ts";
import { RunService } from "../../lib/runs/run_service.ts";

/** A store whose single-key reads of a cancel flag fail while `failing` is set (a store round trip that errs). */
class FlakyCancelReads extends MemoryStore {
  failing = false;
  override get(key: string): Promise<StoredValue | null> {
    if (this.failing && key.endsWith("/cancel")) return Promise.reject(new Error("store unavailable"));
    return super.get(key);
  }
}

Deno.test("RunService: a store error reading the cancel flag after the step gives the run back unlocked", async () => {
  const store = new FlakyCancelReads();
  const service = new RunService(store, { lockTtlMs: 60_000 });
  // The store fails from the model call on: after the run's read and lock, before the commit.
  let calls = 0;
  const agent = new ToolCallingAgent({
    name: "chatty",
    model: () => {
      store.failing = ++calls === 1;
      return Promise.resolve({ content: "thinking" });
    },
  });
  const { runId } = await service.create("chatty", agent.start("task"));
  const before = (await store.get(`runs/${runId}`))!.value;

  await assert.rejects(service.step(runId, agent), /store unavailable/);
  assert.equal(calls, 1, "the step reached the model");
  store.failing = false;
  assert.equal((await store.get(`runs/${runId}`))!.value, before, "the run is byte for byte as it was, unlocked");
  // Not 409 step_in_progress for the lock's minute: the step can be retried at once.
  const retried = await service.step(runId, agent);
  assert.equal(retried.record.state.stepNumber, 1);
});
