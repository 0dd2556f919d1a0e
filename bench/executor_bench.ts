/**
 * Per-step overhead of the QuickJS sandbox: a fresh WASM instance and context, variable restore, the run and the
 * variable snapshot; in-thread, and isolated on a worker thread (the default on Deno and Node: the same step plus
 * the message round trips to the thread, and for tools the round trip back to the host). An idle thread prepares
 * the next step's sandbox (instance and prelude, most of a small step's cost): back-to-back steps on one thread
 * wait for it; steps after a pause, as between model calls, find it ready.
 * `deno bench -A bench/executor_bench.ts`
 */

import type { CodeExecutor } from "../lib/executors/executor.ts";
import { createDenoQuickJSExecutor } from "../lib/adapters/deno/quickjs_wasm_deno.ts";

const inThread = createDenoQuickJSExecutor({ inThread: true });
const isolated = createDenoQuickJSExecutor({ poolSize: 1 });
const tools = { add: ({ a, b }: Record<string, unknown>) => Number(a) + Number(b) };

/** About 100 KiB of JSON: 400 records with a few fields and a 210-character note each. */
const records = Array.from(
  { length: 400 },
  (_, i) => ({ id: i, name: `item-${i}`, tags: ["a", "b"], note: "n".repeat(210) }),
);
const bigVariables: Record<string, unknown> = { records, summary: { count: records.length } };
const bigSize = JSON.stringify(bigVariables).length;
if (bigSize < 100 * 1024 || bigSize > 110 * 1024) throw new Error(`fixture is ${bigSize} bytes, expected ~100 KiB`);

// Warm up: compile the WASM module, load the JS once, start the thread.
await isolated.warmUp();
for (const executor of [inThread, isolated]) await executor.execute("1", { variables: {}, tools });

const benches: [string, (executor: CodeExecutor) => Promise<void>][] = [
  ["small step (restore 2 variables, run, snapshot)", async (executor) => {
    const r = await executor.execute("const total = a + b;\ntotal * 2", { variables: { a: 1, b: 2 }, tools });
    if (r.output !== 6) throw new Error("unexpected output");
  }],
  ["small step with one tool call", async (executor) => {
    const r = await executor.execute("const s = await add({ a: 1, b: 2 });\ns", { variables: {}, tools });
    if (r.output !== 3) throw new Error("unexpected output");
  }],
  ["step with 100 KiB of persisted variables", async (executor) => {
    const r = await executor.execute("records[0].name = 'first';\nconst n = records.length;\nn", {
      variables: bigVariables,
      tools,
    });
    if (r.output !== 400) throw new Error("unexpected output");
  }],
];

/** Between two steps of a run the model is called (tens of ms at least): the thread prepares the next sandbox. */
const IDLE_MS = 25;

for (const [name, body] of benches) {
  // Async functions, so that the runner awaits each iteration.
  Deno.bench(`in-thread: ${name}`, { group: name, baseline: true }, async () => await body(inThread));
  Deno.bench(`isolated (worker thread), back to back: ${name}`, { group: name }, async () => await body(isolated));
  Deno.bench(`isolated (worker thread), after ${IDLE_MS} ms idle: ${name}`, { group: name }, async (b) => {
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    b.start();
    await body(isolated);
    b.end();
  });
}
