import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { functionModel } from "../support/function_model.ts";

/** A store whose deletes fail while `failing` is set (a store round trip that errs). */
class FlakyDeletes extends MemoryStore {
  failing = false;
  override delete(key: string): Promise<void> {
    if (this.failing) return Promise.reject(new Error("store unavailable"));
    return super.delete(key);
  }
}

Deno.test("RunService.delete: a delete the store refuses leaves the run as it was, unlocked, so it can be retried", async () => {
  const store = new FlakyDeletes();
  const service = new RunService(store, { lockTtlMs: 60_000 });
  const agent = new ToolCallingAgent({ name: "idle", model: functionModel([]).model });
  const { runId } = await service.create("idle", agent.start("task"));
  const before = (await store.get(`runs/${runId}`))!.value;

  store.failing = true;
  await assert.rejects(service.delete(runId), /store unavailable/);
  store.failing = false;
  assert.equal((await store.get(`runs/${runId}`))?.value, before, "the run is byte for byte as it was, unlocked");
  // Not 409 step_in_progress for the lock's minute: the delete can be retried at once.
  await service.delete(runId);
  assert.equal(await service.get(runId), null);
});
