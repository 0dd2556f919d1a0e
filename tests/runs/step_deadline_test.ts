import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import {
  defaultStepTimeoutMs,
  startStepDeadline,
  StepTimeoutError,
  withStepDeadline,
} from "../../lib/runs/step_deadline.ts";
import { sleep } from "../../lib/models/retry.ts";
import { CountingStore } from "../support/counting_store.ts";

/** An agent whose model waits `delayMs` (abandoned when the step's signal aborts), then answers. */
function agentWithModel(delayMs: number, seen: { calls: number; aborted: number }) {
  return new ToolCallingAgent({
    name: "waiter",
    model: async (_messages, options) => {
      seen.calls++;
      try {
        await sleep(delayMs, options?.signal);
      } catch (error) {
        seen.aborted++;
        throw error;
      }
      return {
        content: null,
        toolCalls: [{ id: "c", type: "function", function: { name: "final_answer", arguments: { answer: "done" } } }],
      };
    },
  });
}

async function storedBytes(store: CountingStore, runId: string) {
  return (await store.inner.get(`runs/${runId}`))?.value;
}

Deno.test("step deadlines: the deadline aborts with StepTimeoutError, the caller with an AbortError", async () => {
  const deadline = startStepDeadline(20);
  await new Promise((resolve) => deadline.signal.addEventListener("abort", resolve, { once: true }));
  assert.ok(deadline.signal.reason instanceof StepTimeoutError);
  deadline.end();

  const caller = new AbortController();
  const fromCaller = startStepDeadline(60_000, caller.signal);
  caller.abort(new Error("whatever the runtime says"));
  assert.equal(fromCaller.signal.aborted, true);
  assert.equal((fromCaller.signal.reason as DOMException).name, "AbortError");
  fromCaller.end();

  assert.equal(defaultStepTimeoutMs(300_000), 270_000);
  assert.throws(() => new RunService(new MemoryStore(), { lockTtlMs: 1_000, stepTimeoutMs: 1_000 }), RangeError);
});

Deno.test("step deadlines: an ended deadline holds no timer and no listener on the caller", async () => {
  // Deno's test sanitizers fail this test if a timer is left pending after it (as AbortSignal.timeout did: the
  // step's signal and everything listening to it stayed alive until the deadline, minutes later).
  const caller = new AbortController();
  const listening = new Set<EventListener>();
  const spied = caller.signal;
  const add = spied.addEventListener.bind(spied) as (t: string, l: EventListener, o?: AddEventListenerOptions) => void;
  const remove = spied.removeEventListener.bind(spied) as (t: string, l: EventListener) => void;
  Object.assign(spied, {
    addEventListener: (type: string, listener: EventListener, options?: AddEventListenerOptions) => {
      listening.add(listener);
      add(type, listener, options);
    },
    removeEventListener: (type: string, listener: EventListener) => {
      listening.delete(listener);
      remove(type, listener);
    },
  });
  const seen = await withStepDeadline(60_000, spied, (signal) => {
    assert.equal(listening.size, 1, "the deadline listens to the caller while the step runs");
    return Promise.resolve(signal.aborted);
  });
  assert.equal(seen, false);
  assert.equal(listening.size, 0, "and stops listening when it ends");
  await assert.rejects(
    withStepDeadline(60_000, undefined, () => Promise.reject(new Error("step failed"))),
    /step failed/,
  );
  caller.abort();
});

Deno.test("RunService deadlines: a step never outlives its lock, and an abandoned step changes nothing", async (t) => {
  const store = new CountingStore(new MemoryStore());
  const seen = { calls: 0, aborted: 0 };

  await t.step("a caller that has already gone: no store call at all", async () => {
    const service = new RunService(store);
    const agent = agentWithModel(0, seen);
    const { runId } = await service.create("waiter", agent.start("task"));
    const before = { calls: store.calls, model: seen.calls };
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(service.step(runId, agent, { signal: gone.signal }), { name: "AbortError" });
    assert.deepEqual({ calls: store.calls, model: seen.calls }, before);
  });

  await t.step("a caller that leaves while the run is read takes no lock and calls no model", async () => {
    const service = new RunService(store);
    const agent = agentWithModel(0, seen);
    const { runId } = await service.create("waiter", agent.start("task"));
    const bytes = await storedBytes(store, runId);
    const before = { puts: store.puts, model: seen.calls };
    const caller = new AbortController();
    store.beforeCall = (method) => {
      if (method === "get") caller.abort();
    };
    try {
      await assert.rejects(service.step(runId, agent, { signal: caller.signal }), { name: "AbortError" });
    } finally {
      store.beforeCall = undefined;
    }
    assert.deepEqual({ puts: store.puts, model: seen.calls }, before);
    assert.equal(await storedBytes(store, runId), bytes);
  });

  await t.step("a deadline passed while waiting for the store: no lock, no model call", async () => {
    const service = new RunService(store, { lockTtlMs: 1_000, stepTimeoutMs: 30 });
    const agent = agentWithModel(0, seen);
    const { runId } = await service.create("waiter", agent.start("task"));
    const before = { puts: store.puts, model: seen.calls };
    store.beforeCall = async (method) => {
      if (method === "get") await sleep(80); // a slow store read
    };
    try {
      await assert.rejects(service.step(runId, agent), StepTimeoutError);
    } finally {
      store.beforeCall = undefined;
    }
    assert.deepEqual({ puts: store.puts, model: seen.calls }, before);
  });

  await t.step("a deadline passed while writing the lock: no model call, the lock given back", async () => {
    const service = new RunService(store, { lockTtlMs: 60_000, stepTimeoutMs: 30 });
    const agent = agentWithModel(0, seen);
    const { runId } = await service.create("waiter", agent.start("task"));
    const bytes = await storedBytes(store, runId);
    const model = seen.calls;
    store.beforeCall = async (method) => {
      if (method === "put") await sleep(80); // a slow lock write
    };
    try {
      await assert.rejects(service.step(runId, agent), StepTimeoutError);
    } finally {
      store.beforeCall = undefined;
    }
    assert.equal(seen.calls, model);
    assert.equal(await storedBytes(store, runId), bytes);
  });

  await t.step("a hung model is abandoned at the deadline: lock given back, run byte for byte unchanged", async () => {
    const service = new RunService(store, { lockTtlMs: 60_000, stepTimeoutMs: 100 });
    const hung = agentWithModel(60_000, seen);
    const { runId } = await service.create("waiter", hung.start("task"));
    const bytes = await storedBytes(store, runId);
    const aborted = seen.aborted;
    await assert.rejects(service.step(runId, hung), StepTimeoutError);
    assert.equal(seen.aborted, aborted + 1, "the model call was abandoned");
    // The lock (valid for another minute) is gone: the step released it itself.
    assert.equal(await storedBytes(store, runId), bytes);
    const again = await service.step(runId, agentWithModel(0, seen));
    assert.equal(again.record.state.finalAnswer, "done");
  });
});
