import assert from "node:assert/strict";
import { executorWith, run, tools } from "./executor_fixture.ts";

/** Runs steps in sequence, passing each result's variables (through JSON, as a state store would) to the next. */
async function steps(...codes: string[]) {
  let variables: Record<string, unknown> = {};
  const results = [];
  for (const code of codes) {
    const result = await run(code, { variables });
    variables = JSON.parse(JSON.stringify(result.variables));
    results.push(result);
  }
  return results;
}

Deno.test("variables persist across steps", async (t) => {
  await t.step("const, let, var, destructuring and undeclared assignments", async () => {
    const [first, second] = await steps(
      "const a = 1;\nlet { b, c: [d, , e = 5], ...rest } = { b: 2, c: [3, 0], f: 6, g: 7 };\nvar v = 'var';\nw = { deep: [1, { x: null }] }",
      "[a, b, d, e, rest, v, w]",
    );
    assert.deepEqual(first.variables, {
      a: 1,
      b: 2,
      d: 3,
      e: 5,
      rest: { f: 6, g: 7 },
      v: "var",
      w: { deep: [1, { x: null }] },
    });
    assert.deepEqual(second.output, [1, 2, 3, 5, { f: 6, g: 7 }, "var", { deep: [1, { x: null }] }]);
  });

  await t.step("block-scoped and function-local bindings are not top-level", async () => {
    const [r] = await steps(
      "{ let inner = 1 }\nfor (let i = 0; i < 2; i++) {}\nfunction f() { const local = 1 }\nconst top = 2",
    );
    assert.deepEqual(r.variables, { top: 2 });
  });

  await t.step("restored values are plain data and can be redeclared or reassigned", async () => {
    const [, second, third] = await steps(
      "const n = 1;\nconst list = [1, 2]",
      "const n = 10;\nlist.push(3);\n[n, list]",
      "n += 1;\n[n, list, Object.getPrototypeOf(list) === Array.prototype]",
    );
    assert.deepEqual(second.output, [10, [1, 2, 3]]);
    assert.deepEqual(third.output, [11, [1, 2, 3], true]);
  });

  await t.step("functions, classes and non-JSON values are dropped and listed", async () => {
    const [r, next] = await steps(
      "function helper() {}\nclass K {}\nconst arrow = () => 1;\nconst map = new Map();\nconst cyc = {}; cyc.me = cyc;\n" +
        "const big = 10n;\nconst sym = Symbol('s');\nconst inst = new K();\nconst nan = NaN;\nlet notSet;\nconst date = new Date(0);\n" +
        "const nested = { fn() {} };\nconst ok = { kept: true, gone: undefined }",
      "typeof helper",
    );
    assert.deepEqual(r.variables, { ok: { kept: true } });
    assert.deepEqual(
      r.droppedVariables.sort(),
      ["K", "arrow", "big", "cyc", "date", "helper", "inst", "map", "nan", "nested", "notSet", "sym"],
    );
    assert.equal(next.output, "undefined");
  });

  await t.step("a binding whose declaration was never reached is skipped", async () => {
    const [r] = await steps("const before = 1;\nthrow new Error('stop');\nconst after = 2");
    assert.deepEqual(r.variables, { before: 1 });
  });

  await t.step("variables survive an error, a timeout and a final answer", async () => {
    const [, failed] = await steps("const keep = 'me'", "const more = 1;\nnull.x");
    assert.deepEqual(failed.variables, { keep: "me", more: 1 });
    // The limit counts from the code's start (making the instance and restoring `keep` do not count:
    // time_limit_start_test.ts), so `counter` is always assigned before the loop hits it.
    const slow = executorWith({ timeLimitMs: 1_000 });
    const timedOut = await slow.execute("let counter = 5;\nwhile (true) {}", { variables: { keep: "me" }, tools });
    assert.equal(timedOut.error?.name, "TimeoutError");
    assert.deepEqual(timedOut.variables, { keep: "me", counter: 5 });
    const [, answered] = await steps("const keep = 'me'", "const result = keep + '!';\nfinal_answer(result)");
    assert.deepEqual(answered.variables, { keep: "me", result: "me!" });
  });

  await t.step("across executors (another invocation, another process)", async () => {
    const first = await executorWith({}).execute("const shared = { n: 1 }", { variables: {}, tools });
    const second = await executorWith({}).execute("shared.n + 1", { variables: first.variables, tools });
    assert.equal(second.output, 2);
  });

  await t.step("imports persist as bindings, not as dropped functions", async () => {
    const [first, second] = await steps(
      'import { mean as avg } from "math";\nimport * as m from "math";\nconst x = 1',
      "[avg([1, 3]), m.max(1, 5)]",
    );
    assert.deepEqual(first.variables, { x: 1, "@imports": { avg: ["math", "mean"], m: ["math", "*"] } });
    assert.deepEqual(first.droppedVariables, []);
    assert.deepEqual(second.output, [2, 5]);
  });
});

Deno.test("Uint8Array variables persist in an encoded JSON form", async () => {
  const [first, second] = await steps(
    "const raw = new Uint8Array([0, 1, 254, 255]);\nconst note = { raw }",
    "[raw instanceof Uint8Array, [...raw], [...note.raw]]",
  );
  assert.deepEqual(first.variables, {
    raw: { "\u0000bytes": "AAH+/w==" },
    note: { raw: { "\u0000bytes": "AAH+/w==" } },
  });
  assert.deepEqual(second.output, [true, [0, 1, 254, 255], [0, 1, 254, 255]]);
  const fromHost = await run("image.length", { variables: { image: new Uint8Array(10) } });
  assert.equal(fromHost.output, 10);
});

Deno.test("tools cannot be overwritten", async (t) => {
  await t.step("assignments and declarations fail clearly", async () => {
    for (const code of ["reverse_words = 1", "var reverse_words = 1", "globalThis.reverse_words = 1"]) {
      const r = await run(code);
      assert.equal(r.error?.name, "TypeError", code);
      assert.match(r.error!.message, /reverse_words is provided by the sandbox and cannot be reassigned/);
    }
    for (const code of ["let reverse_words = 1", "class reverse_words {}", "function reverse_words() {}"]) {
      const r = await run(code);
      assert.match(r.error!.message, /reverse_words is a tool; choose another name/, code);
    }
    const defined = await run("Object.defineProperty(globalThis, 'reverse_words', { value: 1 })");
    assert.equal(defined.error?.name, "TypeError");
  });

  await t.step("the tool keeps working after a failed overwrite in the same step", async () => {
    const r = await run("try { reverse_words = () => 'fake' } catch {}\nawait reverse_words({ text: 'a b' })");
    assert.equal(r.output, "b a");
  });

  await t.step("restored variables never shadow tools or builtins", async () => {
    const r = await run("[await reverse_words({ text: 'a b' }), typeof JSON.parse, mine]", {
      variables: { reverse_words: 1, final_answer: 2, JSON: 3, print: 4, mine: 5, "not an identifier": 6 },
    });
    assert.deepEqual(r.output, ["b a", "function", 5]);
    assert.deepEqual(r.droppedVariables.sort(), [
      "JSON",
      "final_answer",
      "not an identifier",
      "print",
      "reverse_words",
    ]);
    assert.deepEqual(r.variables, { mine: 5 });
  });
});

Deno.test("persisting 100 KiB of variables", async () => {
  const blob = "x".repeat(100 * 1024);
  const r = await run("const copy = blob.length;\nconst list = Array.from({ length: 1000 }, (_, i) => ({ i }))", {
    variables: { blob },
  });
  assert.equal(r.variables.copy, 100 * 1024);
  assert.equal(r.variables.blob, blob);
  assert.equal((r.variables.list as unknown[]).length, 1000);
});
