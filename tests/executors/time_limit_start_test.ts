/**
 * A step's time limit counts the code's own run (as smolagents limits the execution of the code itself), not the
 * set-up before it: a thread starting, the message to it, the sandbox made, the prelude installed, the variables
 * restored. Each test makes one part of the set-up slower than the limit, deterministically, and checks that the
 * code still gets its whole limit; the host's kill timer still ends a step whose set-up never finishes.
 */

import assert from "node:assert/strict";
import { spawnDenoWorker } from "../../lib/adapters/deno/isolated_quickjs_executor.ts";
import { loadQuickJSWasm } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { EXECUTOR_DEFAULTS, instantiateQuickJS } from "../../lib/executors/quickjs_executor.ts";
import { SandboxSession } from "../../lib/executors/quickjs_session.ts";
import { type IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../lib/executors/isolated_executor.ts";
import type { HostMessage, SpawnSandboxThread, ThreadMessage } from "../../lib/executors/sandbox_thread_protocol.ts";
import { scanTopLevel } from "../../lib/executors/top_level.ts";
import { tools } from "./executor_fixture.ts";

const LIMIT_MS = 300;
/** Longer than the limit plus the kill grace (200 ms), so a clock started before it would have run out. */
const SLOW_MS = LIMIT_MS + 400;
const SPIN = "print('spinning');\nwhile (true) {}";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deno workers whose start (the "ready" message) or whose "run" messages the test delays, or drops. */
function slowWorkers(
  slow: { readyMs?: number; runMs?: number; dropRun?: boolean; onReady?: () => void },
): SpawnSandboxThread {
  return (events) => {
    const thread = spawnDenoWorker({
      message: (message: ThreadMessage) => {
        if (message.type !== "ready" || !slow.readyMs) return events.message(message);
        setTimeout(() => (slow.onReady?.(), events.message(message)), slow.readyMs);
      },
      error: events.error,
    });
    return {
      postMessage: (message: HostMessage) => {
        if (message.type !== "run") thread.postMessage(message);
        else if (slow.dropRun) return;
        else setTimeout(() => thread.postMessage(message), slow.runMs ?? 0);
      },
      terminate: () => thread.terminate(),
    };
  };
}

function isolated(options: Partial<IsolatedExecutorOptions>): IsolatedQuickJSExecutor {
  return new IsolatedQuickJSExecutor({
    wasm: loadQuickJSWasm,
    spawn: spawnDenoWorker,
    timeLimitMs: LIMIT_MS,
    killGraceMs: 200,
    poolSize: 1,
    ...options,
  });
}

async function timedSpin(executor: IsolatedQuickJSExecutor) {
  const start = performance.now();
  const r = await executor.execute(SPIN, { variables: { kept: 1 }, tools });
  return { r, ms: performance.now() - start };
}

Deno.test("the time limit counts from the code's start, not from the sandbox's set-up", async () => {
  const limits = { ...EXECUTOR_DEFAULTS, timeLimitMs: LIMIT_MS };
  const { quickjs } = await instantiateQuickJS(await loadQuickJSWasm(), limits.memoryLimitBytes);
  const session = new SandboxSession(quickjs, { limits, tools: {}, modules: {}, moduleSpecs: {}, authorized: [] });
  try {
    session.install("{}");
    await sleep(SLOW_MS); // a set-up slower than the limit (a loaded machine, large variables)
    const start = performance.now();
    const outcome = await session.run(scanTopLevel(SPIN).code);
    const ms = performance.now() - start;
    assert.deepEqual(outcome, { stopped: "time" });
    assert.equal(session.output.text, "spinning\n");
    assert.ok(ms >= LIMIT_MS - 10, `the code ran ${Math.round(ms)} ms of its ${LIMIT_MS} ms`);
  } finally {
    session.close();
  }
});

Deno.test("isolated: a slow set-up does not count against the code's time limit", async (t) => {
  await t.step("a thread that starts slower than the limit", async () => {
    await using executor = isolated({ spawn: slowWorkers({ readyMs: SLOW_MS }) });
    const { r, ms } = await timedSpin(executor);
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.3 s" });
    assert.equal(r.logs, "spinning\n");
    assert.ok(ms >= SLOW_MS + LIMIT_MS - 10, `took ${Math.round(ms)} ms`);
    assert.equal((await executor.execute("kept + 1", { variables: { kept: 1 }, tools })).output, 2);
  });

  await t.step(
    "the caller's abort ends a step whose thread is still starting, and the thread serves the next",
    async () => {
      let started = false;
      await using executor = isolated({ spawn: slowWorkers({ readyMs: SLOW_MS, onReady: () => started = true }) });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const r = await executor.execute(SPIN, { variables: { kept: 1 }, tools, signal: controller.signal });
      assert.deepEqual(r.error, { name: "AbortError", message: "Execution was aborted" });
      assert.deepEqual(r.variables, { kept: 1 });
      assert.equal(started, false, "the step ended without waiting for the thread to start");
      assert.equal((await executor.execute("kept + 1", { variables: { kept: 1 }, tools })).output, 2);
      assert.equal(executor.threads, 1);
    },
  );

  await t.step("a step that reaches its thread later than the limit plus the kill grace", async () => {
    await using executor = isolated({ spawn: slowWorkers({ runMs: SLOW_MS }) });
    await executor.warmUp();
    const { r, ms } = await timedSpin(executor);
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.3 s" });
    assert.equal(r.logs, "spinning\n");
    assert.ok(ms >= SLOW_MS + LIMIT_MS - 10, `took ${Math.round(ms)} ms`);
  });

  await t.step("a set-up that never ends is still ended by the host, and the thread replaced", async () => {
    const spawn = slowWorkers({ dropRun: true });
    let spawned = 0;
    await using executor = isolated({
      setupGraceMs: 400,
      spawn: (events) => (spawned++, spawn(events)),
    });
    await executor.warmUp();
    const { r, ms } = await timedSpin(executor);
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.3 s" });
    assert.equal(r.logs, "");
    assert.deepEqual(r.variables, { kept: 1 });
    assert.ok(ms >= 390, `took ${Math.round(ms)} ms`);
    assert.equal(spawned, 2, "the thread that never started the step was replaced");
  });
});
