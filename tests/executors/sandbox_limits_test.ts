import assert from "node:assert/strict";
import type { CodeExecutionResult } from "../../lib/executors/executor.ts";
import { executorWith, run, tools } from "./executor_fixture.ts";

const fast = executorWith({ timeLimitMs: 300 });

/** After any limit, the host must still run the next step normally. */
async function assertHostUsable(): Promise<void> {
  assert.equal((await run("await add({ a: 20, b: 22 })")).output, 42);
}

async function timed(promise: Promise<CodeExecutionResult>): Promise<[CodeExecutionResult, number]> {
  const start = performance.now();
  const result = await promise;
  return [result, performance.now() - start];
}

/**
 * Fails instead of hanging the suite if a step never ends (no limit enforced at all). Not a speed bound: a minute
 * is 200 times the 0.3 s limit, and the time limit no longer counts set-up, so load only delays the end.
 */
async function ends(promise: Promise<CodeExecutionResult>): Promise<CodeExecutionResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the step never ended: no limit stopped it")), 60_000);
  });
  try {
    return await Promise.race([promise, never]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("limits end a step with an error result, and the host stays usable", async (t) => {
  await t.step("an infinite loop hits the time limit", async () => {
    // The limit counts the code's own run (a cold thread or a slow set-up does not shorten it), so the first print
    // always happens and the code always spins its whole 0.3 s. No upper bound on the time: the TimeoutError is what
    // proves the loop was interrupted, and `ends` fails a step that never is.
    const [r, ms] = await timed(ends(run("print('spinning');\nwhile (true) {}", {}, fast)));
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 0.3 s" });
    assert.equal(r.logs, "spinning\n");
    assert.ok(ms >= 290, `took ${ms} ms`);
    await assertHostUsable();
  });

  await t.step("a loop that catches everything still ends", async () => {
    const r = await ends(run(
      "for (;;) { try { while (true) {} } catch (e) { print('caught') } finally { print('finally') } }",
      {},
      fast,
    ));
    assert.equal(r.error?.name, "TimeoutError");
    assert.equal(r.logs, "");
  });

  await t.step("a promise that can never settle ends at once", async () => {
    // At once: a step that waited for its (3 s) time limit would end with a TimeoutError instead.
    const r = await run("await new Promise(() => {})");
    assert.equal(r.error?.name, "PendingPromiseError");
  });

  await t.step("an interval keeps the step alive only until the time limit", async () => {
    const [r, ms] = await timed(
      ends(run("let n = 0;\nsetInterval(() => n++, 5);\nawait new Promise(() => {})", {}, fast)),
    );
    // Alive: without the interval, the pending promise would end the step at once (the step above).
    assert.equal(r.error?.name, "TimeoutError");
    assert.ok(ms >= 290, `took ${ms} ms`);
    // The interval ran (how often depends on the machine's load: 5 ms apart at best, about 60 times).
    assert.ok((r.variables.n as number) >= 1, `n = ${r.variables.n}`);
  });

  await t.step("a tool that outlives the time limit is aborted", async () => {
    let aborted = false;
    const r = await run("await slow({})", {
      tools: {
        slow: (_args, { signal }) =>
          new Promise((resolve) => signal.addEventListener("abort", () => resolve(aborted = true))),
      },
    }, fast);
    assert.equal(r.error?.name, "TimeoutError");
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(aborted, true);
    await assertHostUsable();
  });

  await t.step("the caller's abort signal stops the step", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const r = await run("await sleep({ ms: 5000 })", { signal: controller.signal });
    assert.deepEqual(r.error, { name: "AbortError", message: "Execution was aborted" });
    const spin = new AbortController();
    spin.abort();
    assert.equal((await run("while (true) {}", { signal: spin.signal })).error?.name, "AbortError");
  });

  await t.step("a CPU budget independent of the clock", async () => {
    const budget = executorWith({ maxInterruptChecks: 20 });
    // The message says which limit ended the loop: the budget, not the (3 s) clock.
    const r = await run("let i = 0;\nwhile (true) { i++ }", {}, budget);
    assert.deepEqual(r.error, {
      name: "TimeoutError",
      message: "Execution exceeded its CPU budget (20 interrupt checks)",
    });
    assert.equal((await run("let s = 0; for (let i = 0; i < 1000; i++) s += i; s", {}, budget)).output, 499500);
  });

  await t.step("memory: growing strings, arrays, objects and typed arrays", async () => {
    const small = executorWith({ memoryLimitBytes: 16 * 1024 * 1024 });
    for (
      const code of [
        "const parts = [];\nwhile (true) parts.push('x'.repeat(100000) + parts.length)",
        "const objects = [];\nwhile (true) objects.push({ n: objects.length, s: 'y' + objects.length })",
        "const buffers = [];\nwhile (true) buffers.push(new Uint8Array(1 << 20))",
        // Within the native bounds (2 ** 23 elements, 2 ** 25 characters; larger ones are refused before they
        // start: native_bounds_test.ts), but over 16 MiB.
        "new Array(2 ** 23).fill(0)",
        "'z'.repeat(2 ** 25)",
      ]
    ) {
      const r = await run(code, {}, small);
      assert.deepEqual(r.error?.name, "MemoryLimitError", code);
      assert.equal(r.error?.message, "Memory limit of 16 MiB exceeded");
      await assertHostUsable();
    }
  });

  await t.step("memory: catching the error does not get around the limit", async () => {
    const r = await run(
      "const keep = [];\nfor (let i = 0; i < 5; i++) { try { while (true) keep.push('w'.repeat(1e5)) } catch (e) { print(String(e)) } }\nkeep.length",
      {},
      executorWith({ memoryLimitBytes: 8 * 1024 * 1024 }),
    );
    assert.ok(r.error === undefined || r.error.name === "MemoryLimitError");
    await assertHostUsable();
  });

  await t.step("deep recursion is a RangeError", async () => {
    const r = await run("function down(n) { return down(n + 1) + 1 }\ndown(0)");
    assert.deepEqual(r.error, {
      name: "RangeError",
      message: "Maximum call stack size exceeded (stack limit 256 KiB)",
      line: 1,
    });
    const caught = await run(
      "function down(n) { return down(n + 1) + 1 }\ntry { down(0) } catch (e) { 'caught ' + e.message }",
    );
    assert.equal(caught.output, "caught stack overflow");
  });

  await t.step("ordinary recursion depth still works", async () => {
    const r = await run("function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1) }\ndepth(1000)");
    assert.equal(r.output, 1000);
  });

  await t.step("native recursion on absurdly nested values ends the step, not the host", async () => {
    const r = await run("let s = '';\nfor (let i = 0; i < 100000; i++) s += '[';\nprint('built');\nJSON.parse(s)");
    assert.ok(["SandboxCrashError", "RangeError", "SyntaxError"].includes(r.error!.name), r.error!.name);
    assert.equal(r.logs, "built\n");
    await assertHostUsable();
  });

  await t.step("huge tool results are refused instead of exhausting the sandbox", async () => {
    const r = await run("await huge({})", { tools: { huge: () => "h".repeat(30 * 1024 * 1024) } });
    assert.equal(r.error?.name, "ToolError");
    assert.match(r.error!.message, /its result is too large/);
  });

  await t.step("concurrent steps stay independent", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run(`const mine = ${i};\nawait sleep({ ms: ${10 * (8 - i)} });\nmine * 2`)),
    );
    assert.deepEqual(results.map((r) => r.output), [0, 2, 4, 6, 8, 10, 12, 14]);
  });
});

Deno.test("step timing includes the awaited tools", async () => {
  const r = await run("await sleep({ ms: 2000 })", { tools }, fast);
  assert.equal(r.error?.name, "TimeoutError");
});
