import assert from "node:assert/strict";
import { spawnDenoWorker } from "../../lib/adapters/deno/isolated_quickjs_executor.ts";
import { createNodeIsolatedExecutor } from "../../lib/adapters/node/isolated_quickjs_executor.ts";
import type { CodeExecutionResult } from "../../lib/executors/executor.ts";
import { type IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../lib/executors/isolated_executor.ts";
import { QuickJSExecutor } from "../../lib/executors/quickjs_executor.ts";
import { createDenoQuickJSExecutor, loadQuickJSWasm } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import type { HostMessage, SpawnSandboxThread } from "../../lib/executors/sandbox_thread_protocol.ts";
import { isRunning } from "../../lib/executors/thread_channel.ts";
import { tools } from "./executor_fixture.ts";

/**
 * Runs `work` while a 20 ms host timer ticks, and reports the longest gap between ticks: a step that blocks the
 * host's event loop shows as a gap as long as the step.
 */
async function withHostTimer<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; longestGapMs: number }> {
  const start = performance.now();
  let last = start;
  let longestGapMs = 0;
  const tick = () => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  };
  const timer = setInterval(tick, 20);
  try {
    const value = await work();
    tick();
    return { value, ms: performance.now() - start, longestGapMs };
  } finally {
    clearInterval(timer);
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Deno workers whose traffic a test can see and disturb. */
function watchedWorkers() {
  const threads: {
    channel?: SharedArrayBuffer;
    dropModuleCalls: boolean;
    fail(reason: string): void;
    terminate(): void;
  }[] = [];
  const spawn: SpawnSandboxThread = (events) => {
    const entry = {
      channel: undefined as SharedArrayBuffer | undefined,
      dropModuleCalls: false,
      fail: (reason: string) => events.error(reason),
      terminate: () => {},
    };
    const thread = spawnDenoWorker({
      message: (message) => {
        if (!(message.type === "module" && entry.dropModuleCalls)) events.message(message);
      },
      error: events.error,
    });
    entry.terminate = () => thread.terminate();
    threads.push(entry);
    return {
      postMessage: (message: HostMessage) => {
        if (message.type === "start") entry.channel = message.channel;
        thread.postMessage(message);
      },
      terminate: () => thread.terminate(),
    };
  };
  return { spawn, threads };
}

function isolated(options: Partial<IsolatedExecutorOptions> = {}): IsolatedQuickJSExecutor {
  return new IsolatedQuickJSExecutor({ wasm: loadQuickJSWasm, spawn: spawnDenoWorker, timeLimitMs: 3_000, ...options });
}

Deno.test("isolated executor: model-written code cannot stall the host", async (t) => {
  await using executor = isolated({ timeLimitMs: 1_000, poolSize: 1 });
  await executor.warmUp();

  await t.step("attack: while(true){} no longer blocks the host's event loop for the time limit", async () => {
    const { value: r, longestGapMs } = await withHostTimer(() =>
      executor.execute("print('spinning');\nwhile (true) {}", { variables: { kept: 1 }, tools })
    );
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 1 s" });
    assert.equal(r.logs, "spinning\n");
    assert.deepEqual(r.variables, { kept: 1 });
    // In one thread the timer could not tick during the whole second; here the host stays free.
    assert.ok(longestGapMs < 500, `the host's event loop stalled for ${Math.round(longestGapMs)} ms`);
  });

  await t.step(
    "attack: Array.prototype.indexOf.call on a huge array-like ends on time, the host never stalls",
    async () => {
      const fast = isolated({ timeLimitMs: 300, killGraceMs: 200, poolSize: 1 });
      try {
        await fast.warmUp();
        const { value: r, longestGapMs } = await withHostTimer(() =>
          fast.execute("print('before');\nconst n = 1;\nArray.prototype.indexOf.call({ length: 2 ** 27 }, 1)", {
            variables: { kept: 1 },
            tools,
          })
        );
        assert.ok(longestGapMs < 500, `the host's event loop stalled for ${Math.round(longestGapMs)} ms`);
        // Where the sandbox bounds the builtin first, it is a RangeError; otherwise the host ends it at the limit
        // (no bound on the time here: the variables below show the host's kill ended it, not the native loop's end).
        if (r.error?.name !== "RangeError") {
          assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.3 s" });
          assert.equal(r.logs, "before\n", "output printed before the hang is kept");
          assert.deepEqual(r.variables, { kept: 1 }, "the step's variables are those it started with");
          // The pool has a fresh thread at once; the old one (Deno cannot interrupt it) is counted until it stops.
          assert.equal((await fast.execute("kept + 1", { variables: { kept: 1 }, tools })).output, 2);
          await until(() => fast.stuckThreads === 0, 120_000);
        }
      } finally {
        fast.close();
      }
    },
  );

  await t.step("the next step runs normally", async () => {
    assert.equal((await executor.execute("await add({ a: 20, b: 22 })", { variables: {}, tools })).output, 42);
  });
});

Deno.test("isolated executor: the pool", async (t) => {
  await t.step("a thread that stops answering is killed at the time limit plus the grace, and replaced", async () => {
    const { spawn, threads } = watchedWorkers();
    await using executor = isolated({
      spawn,
      timeLimitMs: 300,
      killGraceMs: 200,
      poolSize: 1,
      authorizedImports: ["clock"],
      modules: { clock: { now: () => 1 } },
    });
    await executor.warmUp();
    threads[0].dropModuleCalls = true; // the thread now waits forever for the host's answer
    const { value: r, ms } = await withHostTimer(() =>
      executor.execute('import { now } from "clock";\nprint("waiting");\nnow()', { variables: { kept: 1 }, tools })
    );
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.3 s" });
    assert.equal(r.logs, "waiting\n");
    assert.deepEqual(r.variables, { kept: 1 });
    // Killed, not ended by the thread (it waits forever): no earlier than the limit plus the grace after the code
    // started. No upper bound: the TimeoutError is what proves the kill (without it the step would never end).
    assert.ok(ms >= 450, `took ${Math.round(ms)} ms`);
    // A replacement serves the next step (with host-module calls answered again).
    const next = await executor.execute('import { now } from "clock";\nnow() + 1', { variables: {}, tools });
    assert.equal(next.output, 2);
    assert.equal(threads.length, 2);
    // The kill also woke the blocked thread (Deno cannot terminate it): it sees the stop request and lets go.
    await until(() => executor.stuckThreads === 0, 10_000);
    assert.equal(isRunning(threads[0].channel!), false);
  });

  await t.step("a crashed thread ends its step with a crash result and is replaced", async () => {
    const { spawn, threads } = watchedWorkers();
    await using executor = isolated({ spawn, poolSize: 1 });
    await executor.warmUp();
    const running = executor.execute("await sleep({ ms: 5000 })", { variables: { kept: 1 }, tools });
    await new Promise((resolve) => setTimeout(resolve, 100));
    threads[0].terminate();
    threads[0].fail("the thread ran out of memory");
    const r = await running;
    assert.deepEqual(r.error, {
      name: "SandboxCrashError",
      message: "The sandbox crashed (the thread ran out of memory)",
    });
    assert.deepEqual(r.variables, { kept: 1 });
    assert.equal((await executor.execute("21 * 2", { variables: {}, tools })).output, 42);
    assert.equal(threads.length, 2);
    assert.equal(executor.threads, 1);
  });

  await t.step("concurrent steps: more steps than threads wait their turn, each with its own variables", async () => {
    // A roomy limit: the last steps wait for two rounds of the others (a wait counts against the limit).
    await using executor = isolated({ poolSize: 1, maxThreads: 2, timeLimitMs: 30_000 });
    const results = await Promise.all(
      Array.from(
        { length: 6 },
        (_, i) =>
          executor.execute("await sleep({ ms: 50 });\nconst doubled = n * 2;\nprint(n);\ndoubled", {
            variables: { n: i },
            tools,
          }),
      ),
    );
    assert.deepEqual(results.map((r) => r.output), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(results.map((r) => r.logs), ["0\n", "1\n", "2\n", "3\n", "4\n", "5\n"]);
    assert.deepEqual(results.map((r) => r.variables.doubled), [0, 2, 4, 6, 8, 10]);
    assert.ok(executor.threads <= 2, `${executor.threads} threads`);
  });

  await t.step("the caller's abort ends a spinning step at once, variables kept as in one thread", async () => {
    await using executor = isolated({ poolSize: 1 });
    await executor.warmUp();
    const controller = new AbortController();
    // The abort comes 100 ms after the code called `spin`, so after it started, however long set-up took.
    const spin = () => (setTimeout(() => controller.abort(), 100), "spin");
    const r = await executor.execute("const before = 1;\nawait spin({});\nwhile (true) {}", {
      variables: {},
      tools: { ...tools, spin },
      signal: controller.signal,
    });
    // At once: the thread stopped the loop itself and read the variables back (a step the host had to kill keeps
    // the variables it started with), and the 3 s time limit would have been a TimeoutError.
    assert.deepEqual(r.error, { name: "AbortError", message: "Execution was aborted" });
    assert.equal(r.variables.before, 1);
    assert.equal(executor.threads, 1);
    assert.equal(executor.stuckThreads, 0);
  });

  await t.step("a step waiting for a thread ends when the caller aborts", async () => {
    await using executor = isolated({ poolSize: 1, maxThreads: 1 });
    const busy = executor.execute("await sleep({ ms: 300 })", { variables: {}, tools });
    const controller = new AbortController();
    const waiting = executor.execute("1", { variables: { kept: 1 }, tools, signal: controller.signal });
    controller.abort();
    const r = await waiting;
    assert.equal(r.error?.name, "AbortError");
    assert.deepEqual(r.variables, { kept: 1 });
    assert.equal((await busy).output, "slept");
  });

  await t.step("a step that finds no free thread within its time limit ends with the time-limit error", async () => {
    // A wait shorter than the limit: the first step's thread frees up (set-up, 100 ms, results) well within the
    // second step's 10 s, so both run, however loaded the machine.
    await using roomy = isolated({ poolSize: 1, maxThreads: 1, timeLimitMs: 10_000 });
    await roomy.warmUp();
    const busy = roomy.execute("await sleep({ ms: 100 })", { variables: {}, tools });
    const starved = roomy.execute("1", { variables: { kept: 1 }, tools });
    const [first, second] = await Promise.all([busy, starved]);
    assert.equal(first.output, "slept");
    assert.equal(second.output, 1);
    // A wait longer than the limit: the thread is busy for its set-up plus its whole 0.5 s limit, so the waiting
    // step's 0.5 s always runs out first.
    await using executor = isolated({ poolSize: 1, maxThreads: 1, timeLimitMs: 500 });
    await executor.warmUp();
    const blocking = executor.execute("await sleep({ ms: 5000 })", { variables: {}, tools });
    const late = await executor.execute("1", { variables: { kept: 1 }, tools });
    assert.deepEqual(late.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.5 s" });
    assert.deepEqual(late.variables, { kept: 1 });
    assert.equal((await blocking).error?.name, "TimeoutError");
  });

  await t.step("close() ends every thread and refuses further steps", async () => {
    const executor = isolated({ poolSize: 2 });
    await executor.warmUp();
    assert.equal(executor.threads, 2);
    const running = executor.execute("await sleep({ ms: 5000 })", { variables: {}, tools });
    await new Promise((resolve) => setTimeout(resolve, 100));
    executor.close();
    assert.equal(executor.threads, 0);
    assert.equal((await running).error?.name, "SandboxCrashError");
    await assert.rejects(executor.execute("1", { variables: {}, tools }), /closed/);
  });
});

Deno.test("createDenoQuickJSExecutor isolates by default; inThread opts out", async () => {
  await using isolatedByDefault = createDenoQuickJSExecutor();
  assert.ok(isolatedByDefault instanceof IsolatedQuickJSExecutor);
  assert.equal(isolatedByDefault.threads, 0, "no thread starts before the first step");
  assert.equal((await isolatedByDefault.execute("6 * 7", { variables: {}, tools })).output, 42);
  assert.equal(isolatedByDefault.threads, 2, "two warm threads by default");
  assert.ok(createDenoQuickJSExecutor({ inThread: true }) instanceof QuickJSExecutor);
  // Threads without any permission (deno.json enables "worker-options") run steps, tools and modules alike.
  await using unprivileged = createDenoQuickJSExecutor({
    workerPermissions: "none",
    authorizedImports: ["text"],
    modules: { text: { upper: (s: string) => s.toUpperCase() } },
  });
  const r = await unprivileged.execute('import { upper } from "text";\nupper(await reverse_words({ text: "b a" }))', {
    variables: {},
    tools,
  });
  assert.equal(r.output, "A B");
});

Deno.test("Node adapter (worker_threads, run here under Deno's node:worker_threads)", async () => {
  await using executor = createNodeIsolatedExecutor({
    wasm: loadQuickJSWasm,
    timeLimitMs: 1_000,
    authorizedImports: ["text"],
    modules: { text: { upper: (s: string) => s.toUpperCase() } },
  });
  // A cold thread (worker start, module load, WASM compile) must not count against the step's limit under load.
  await executor.warmUp();
  const r: CodeExecutionResult = await executor.execute(
    'import { upper } from "text";\nconst s = await reverse_words({ text: "b a" });\nprint(upper(s));\ns',
    { variables: {}, tools },
  );
  assert.equal(r.output, "a b", JSON.stringify(r.error));
  assert.equal(r.logs, "A B\n");
  const spin = await executor.execute("while (true) {}", { variables: {}, tools });
  assert.equal(spin.error?.name, "TimeoutError");
});

Deno.test("sandboxes prepared ahead by an idle thread", async (t) => {
  // One thread, so every step after the first finds the sandbox that thread prepared after the previous one.
  await using executor = createDenoQuickJSExecutor({ poolSize: 1, maxThreads: 1, timeLimitMs: 400 });
  const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const add = ({ a, b }: Record<string, unknown>) => Number(a) + Number(b);
  const mul = ({ a, b }: Record<string, unknown>) => Number(a) * Number(b);

  await t.step("a sandbox prepared for other tools is not used: each step sees exactly its own tools", async () => {
    const first = await executor.execute("await add({ a: 2, b: 3 })", { variables: {}, tools: { add } });
    assert.equal(first.output, 5);
    await idle(50);
    const probe = "[typeof add, typeof mul, await mul({ a: 2, b: 3 })]";
    const second = await executor.execute(probe, { variables: {}, tools: { mul } });
    assert.deepEqual(second.output, ["undefined", "function", 6], JSON.stringify(second.error));
  });

  await t.step("nothing leaks from one step into the sandbox prepared for the next", async () => {
    await executor.execute("globalThis.leak = 1; Object.prototype.polluted = 2; const kept = 3;", {
      variables: {},
      tools: { add },
    });
    await idle(50);
    const r = await executor.execute("[typeof leak, typeof ({}).polluted, typeof kept]", {
      variables: {},
      tools: { add },
    });
    assert.deepEqual(r.output, ["undefined", "undefined", "undefined"]);
  });

  await t.step("the time limit counts from the step, not from when its sandbox was prepared", async () => {
    await executor.execute("1", { variables: {}, tools: { add } });
    await idle(600); // longer than the 400 ms limit: a deadline set at preparation would have passed
    const r = await executor.execute("let i = 0; const t = Date.now(); while (Date.now() - t < 150) i++; 'done'", {
      variables: {},
      tools: { add },
    });
    assert.equal(r.output, "done", JSON.stringify(r.error));
    const spin = await executor.execute("while (true) {}", { variables: {}, tools: { add } });
    assert.match(spin.error?.message ?? "", /time limit of 0.4 s/);
  });
});
