/**
 * Builtins that QuickJS runs natively, without an interrupt check, are bounded inside the sandbox before they
 * start (lib/executors/sandbox_bounds.ts). Each attack below froze the host thread before the bounds (the step
 * never returned, whatever its time limit); now it is a RangeError (or, where the work is split into
 * interruptible pieces, the time limit) well within a generous bound, and ordinary uses give the results they give
 * in V8.
 */

import assert from "node:assert/strict";
import type { CodeExecutionResult } from "../../lib/executors/executor.ts";
import { MAX_BIGINT_TEXT_BITS, MAX_NATIVE_LENGTH, MAX_NATIVE_STRING } from "../../lib/executors/sandbox_bounds.ts";
import { executorWith, run, warmed } from "./executor_fixture.ts";

const sandbox = executorWith({ timeLimitMs: 2_000 });
/** Far above the 2 s limit, far below "never": a step that hangs fails here instead of stalling the suite. */
const RETURNS_WITHIN_MS = 10_000;

async function attack(code: string, budget = sandbox): Promise<CodeExecutionResult> {
  await warmed(budget); // a thread's cold start is not the attack's time
  const start = performance.now();
  const result = await run(code, {}, budget);
  const ms = performance.now() - start;
  assert.ok(ms < RETURNS_WITHIN_MS, `${code}: took ${Math.round(ms)} ms`);
  return result;
}

function assertRefused(r: CodeExecutionResult, code: string, operation: string, what: string, n: number, cap: number) {
  assert.equal(r.error?.name, "RangeError", `${code}: ${JSON.stringify(r.error)}`);
  assert.equal(
    r.error?.message,
    `${operation}: ${what} ${n} is over the sandbox's limit of ${cap} (builtins that loop natively cannot be interrupted)`,
    code,
  );
}

const HUGE = 2 ** 40;
const SPARSE = "const s = []; s.length = 2 ** 32 - 1;\n";

Deno.test("native bounds: attacks that froze the host are refused before they start", async (t) => {
  await t.step("array-like with length 2 ** 40 passed to every natively looping Array method", async () => {
    const calls: [string, string][] = [
      ["indexOf", "1"],
      ["lastIndexOf", "1"],
      ["includes", "1"],
      ["join", "''"],
      ["toLocaleString", ""],
      ["reverse", ""],
      ["fill", "0"],
      ["copyWithin", "0, 1"],
      ["sort", ""],
      ["sort", "(a, b) => a - b"],
      ["splice", "0, 1"],
      ["slice", "0"],
      ["every", "() => false"],
      ["some", "() => true"],
      ["forEach", "() => 1"],
      ["map", "() => 1"],
      ["filter", "() => 1"],
      ["reduce", "() => 1, 0"],
      ["reduceRight", "() => 1, 0"],
      ["unshift", "1"],
      ["shift", ""],
      ["with", "0, 1"],
      ["toReversed", ""],
      ["toSorted", ""],
      ["toSpliced", "0, 1"],
      ["flat", ""],
      ["flatMap", "(x) => x"],
    ];
    for (const [method, args] of calls) {
      const code = `Array.prototype.${method}.call({ length: 2 ** 40 }${args ? ", " + args : ""})`;
      assertRefused(await attack(code), code, `Array.prototype.${method}`, "length", HUGE, MAX_NATIVE_LENGTH);
    }
  });

  await t.step("a real but sparse array of length 2 ** 32 - 1 (holes loop natively too)", async () => {
    for (
      const [code, method] of [
        ["s.includes(1)", "includes"],
        ["s.indexOf(1)", "indexOf"],
        ["s.join('')", "join"],
        ["String(s)", "join"],
        ["`${s}`", "join"],
        ["s.sort()", "sort"],
        ["s.forEach((x) => x)", "forEach"],
        ["s.copyWithin(0, 1)", "copyWithin"],
        ["s.shift()", "shift"],
        ["new Array(2 ** 32 - 1).reverse()", "reverse"],
      ]
    ) {
      assertRefused(await attack(SPARSE + code), code, `Array.prototype.${method}`, "length", 2 ** 32 - 1, 2 ** 23);
    }
  });

  await t.step("a huge sparse array nested where the outer check cannot see it: flat, flatMap, concat", async () => {
    for (
      const [code, method, n] of [
        ["[s].flat()", "flat", 2 ** 32 - 1],
        ["[1].flatMap(() => s)", "flatMap", 2 ** 32 - 1],
        ["[].concat([1], s)", "concat", 2 ** 32 - 1],
        ["[].concat({ length: 2 ** 40, [Symbol.isConcatSpreadable]: true })", "concat", HUGE],
      ] as const
    ) {
      const r = await attack(SPARSE + code);
      assertRefused(r, code, `Array.prototype.${method}`, "length", n, MAX_NATIVE_LENGTH);
    }
  });

  await t.step("repeat, padStart and padEnd with huge counts", async () => {
    for (
      const [code, method, n] of [
        ["'ab'.repeat(2 ** 28)", "repeat", 2 ** 29],
        ["'a'.repeat(2 ** 26)", "repeat", 2 ** 26],
        ["'a'.padStart(2 ** 30, 'b')", "padStart", 2 ** 30],
        ["'a'.padEnd(2 ** 26)", "padEnd", 2 ** 26],
      ] as const
    ) {
      assertRefused(await attack(code), code, `String.prototype.${method}`, "result length", n, MAX_NATIVE_STRING);
    }
  });

  await t.step("String.raw with a raw array-like of length 2 ** 40", async () => {
    const code = "String.raw({ raw: { length: 2 ** 40 } }, 'x')";
    assertRefused(await attack(code), code, "String.raw", "length", HUGE, MAX_NATIVE_LENGTH);
  });

  await t.step("BigInt to a decimal string (quadratic natively)", async () => {
    const code = "(7n ** 200000n).toString()";
    const r = await attack(code);
    assert.equal(r.error?.name, "RangeError");
    assert.match(
      r.error!.message,
      /^BigInt\.prototype\.toString: bit length \d+ is over the sandbox's limit of 131072 /,
    );
    assert.equal(MAX_BIGINT_TEXT_BITS, 131072);
    // Printing one falls back to hexadecimal instead of freezing print().
    const printed = await attack(
      "const x = 2n ** 140000n;\nprint(x);\n(x % 1000n).toString() + ' ' + x.toString(16).length",
    );
    assert.equal(printed.error, undefined);
    assert.equal(printed.logs, "0x1" + "0".repeat(35_000) + "n\n");
    assert.equal(printed.output, `${2n ** 140000n % 1000n} 35001`);
  });

  await t.step("a loop of medium native calls cannot starve the interrupt check", async () => {
    // Each call visits 2 ** 20 holes without an interrupt check; QuickJS alone would look at the clock only every
    // 10,000 calls (hours). The work is charged, so the limit applies within a call or two.
    const r = await attack("for (;;) Array.prototype.indexOf.call({ length: 2 ** 20 }, 1)");
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 2 s" });
    // Where the clock stands still (Workers), the charged work counts against the CPU budget.
    const budget = executorWith({ timeLimitMs: 60_000, maxInterruptChecks: 2_000 });
    const counted = await attack("for (;;) Array.prototype.includes.call({ length: 2 ** 20 }, 1)", budget);
    assert.deepEqual(counted.error, {
      name: "TimeoutError",
      message: "Execution exceeded its CPU budget (2000 interrupt checks)",
    });
  });

  await t.step("catastrophic string searches run through the regexp engine and hit the time limit", async () => {
    const prefix = "const h = 'a'.repeat(2 ** 20), n = 'a'.repeat(2 ** 19) + 'b';\n";
    for (const call of ["h.indexOf(n)", "h.includes(n)", "h.lastIndexOf(n)", "h.split(n)", "h.replace(n, '')"]) {
      const r = await attack(prefix + call);
      assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 2 s" }, call);
    }
    const r = await attack(prefix + "h.replaceAll(n, '')");
    assert.equal(r.error?.name, "TimeoutError");
  });

  await t.step("catastrophic regexp backtracking is interrupted (this QuickJS polls inside lre_exec)", async () => {
    const r = await attack("/(a+)+$/.test('a'.repeat(40) + 'b')");
    assert.deepEqual(r.error, { name: "TimeoutError", message: "Execution exceeded the time limit of 2 s" });
  });

  await t.step("a huge sparse array left in a variable or as the last value does not freeze the snapshot", async () => {
    const r = await attack(SPARSE + "const kept = [1, 2];\ns");
    assert.equal(r.error, undefined);
    assert.deepEqual(r.variables, { kept: [1, 2] });
    assert.deepEqual(r.droppedVariables, ["s"]);
    assert.match(String(r.output), /^\[\s*undefined,/);
  });
});

Deno.test("native bounds: lengths computed by code cannot slip past the check", async (t) => {
  const refused = (method: string) =>
    `Array.prototype.${method} refuses an array-like whose length is computed by code (a getter, valueOf or Proxy): ` +
    "the sandbox could not bound its loop";
  for (
    const [name, code, method] of [
      [
        "a length getter that reports 1 to the check and 2 ** 40 to the builtin",
        "let n = 0;\nArray.prototype.indexOf.call({ get length() { return n++ ? 2 ** 40 : 1 } }, 1)",
        "indexOf",
      ],
      [
        "a length getter inherited from the prototype",
        "let n = 0;\nconst proto = { get length() { return n++ ? 2 ** 40 : 1 } };\n" +
        "Array.prototype.includes.call(Object.create(proto), 1)",
        "includes",
      ],
      [
        "a length whose valueOf changes between reads",
        "let n = 0;\nArray.prototype.join.call({ length: { valueOf: () => (n++ ? 2 ** 40 : 1) } })",
        "join",
      ],
      [
        "a Proxy whose get trap changes the length (and no has trap, so holes loop natively)",
        "let n = 0;\nconst p = new Proxy({}, { get: (t, k) => (k === 'length' ? (n++ ? 2 ** 40 : 1) : undefined) });\n" +
        "Array.prototype.reverse.call(p)",
        "reverse",
      ],
      [
        "a Proxy from Proxy.revocable",
        "const { proxy } = Proxy.revocable({ length: 2 ** 40 }, {});\nArray.prototype.lastIndexOf.call(proxy, 1)",
        "lastIndexOf",
      ],
      [
        "a Proxy of a sparse array in a concat",
        SPARSE + "[].concat(new Proxy(s, {}))",
        "concat",
      ],
      [
        "a constructor getter (read by concat's species lookup) that grows a later argument",
        "const later = { length: 1, [Symbol.isConcatSpreadable]: true };\n" +
        "Object.defineProperty(Array.prototype, 'constructor', { get() { later.length = 2 ** 40; return Array } });\n" +
        "[].concat([1], later)",
        "concat",
      ],
    ] as const
  ) {
    await t.step(name, async () => {
      const r = await attack(code);
      assert.deepEqual(r.error && { name: r.error.name, message: r.error.message }, {
        name: "TypeError",
        message: refused(method),
      });
    });
  }

  await t.step("an element getter in an earlier concat argument cannot grow a later one past the check", async () => {
    const r = await attack(
      "const later = { length: 1, [Symbol.isConcatSpreadable]: true };\nconst first = [];\n" +
        "Object.defineProperty(first, 0, { get() { later.length = 2 ** 40; return 1 }, enumerable: true });\n" +
        "[].concat(first, later)",
    );
    assertRefused(r, "concat", "Array.prototype.concat", "length", HUGE, MAX_NATIVE_LENGTH);
  });

  await t.step("an index setter on Array.prototype cannot slip an unchecked argument into concat", async () => {
    const r = await attack(
      "const big = { length: 2 ** 40, [Symbol.isConcatSpreadable]: true };\n" +
        "Object.defineProperty(Array.prototype, 0, { configurable: true, set(v) {\n" +
        "  Object.defineProperty(this, 0, { value: v, writable: true, enumerable: true, configurable: true });\n" +
        "  this.push(big);\n} });\n" +
        "const r = [].concat(1, 2);\ndelete Array.prototype[0];\nr",
    );
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual(r.output, [1, 2]);
  });

  await t.step("a replaced Array iterator cannot rewire the lazily compiled wrappers", async () => {
    const r = await attack(
      "let calls = 0;\nArray.prototype[Symbol.iterator] = function* () { if (calls++ === 0) yield 'padStart' };\n" +
        "'a'.padStart(2 ** 26)",
    );
    assertRefused(r, "padStart", "String.prototype.padStart", "result length", 2 ** 26, MAX_NATIVE_STRING);
  });

  await t.step("the wrappers cannot be replaced, and the original builtins are out of reach", async () => {
    const r = await attack(
      "const d = Object.getOwnPropertyDescriptor(Array.prototype, 'indexOf');\n" +
        "const threw = (() => { 'use strict'; try { Array.prototype.indexOf = () => 0 } catch (e) { return e instanceof TypeError } })();\n" +
        "[threw, d.writable, d.configurable, d.enumerable, [].indexOf.name, [].indexOf.length, ''.padStart.length,\n" +
        " Proxy.name, Proxy.length, 'prototype' in Proxy, delete globalThis.Proxy, typeof Proxy.revocable]",
    );
    assert.deepEqual(r.output, [true, false, false, false, "indexOf", 1, 1, "Proxy", 2, false, false, "function"]);
  });
});

/** Ordinary uses, compared with what V8 (this Deno) computes for the same expression. */
const ORDINARY = [
  "[1, 2, 3, 2].indexOf(2)",
  "[1, 2, 3, 2].lastIndexOf(2)",
  "[1, NaN].includes(NaN)",
  "[1, [2, 3], null, undefined, 'x'].join('-')",
  "String([1, [2, [3]]])",
  "[3, 1, 10, 2].sort()",
  "[3, 1, 10, 2].sort((a, b) => a - b)",
  "[1, 2, 3, 4, 5].copyWithin(0, 3)",
  "new Array(3).fill(7)",
  "(() => { const a = [1, 2, 3, 4]; const r = a.splice(1, 2, 'x'); return [a, r] })()",
  "[1, 2, 3].reverse()",
  "[1, 2, 3, 4].slice(-2)",
  "[1, 2, 3].map((x) => x * 2).filter((x) => x > 2).reduce((a, b) => a + b, 0)",
  "[1, 2, 3].reduceRight((a, b) => a + b)",
  "[1, 2, 3].every((x) => x > 0) && [1, 2, 3].some((x) => x > 2)",
  "(() => { const a = [2, 3]; const n = a.unshift(0, 1); const f = a.shift(); return [a, n, f] })()",
  "[[1, 2], [3]].with(1, 'x').toReversed().toSorted().toSpliced(0, 1)",
  "[1, [2, [3, [4]]], , 5].flat()",
  "[1, [2, [3, [4]]]].flat(Infinity)",
  "[1, 2].flatMap((x) => [x, [x * 10]])",
  "(() => { const r = [, 1].concat([2, , 3], 4, 'five', { length: 1, 0: 'six', [Symbol.isConcatSpreadable]: true }); return [r.length, 0 in r, 3 in r, r] })()",
  "[].concat.apply([], [[1], [2, 3], [[4]]])",
  "Array.prototype.indexOf.call('abc', 'c')",
  "Array.prototype.join.call({ length: 3, 0: 'a', 2: 'c' }, '+')",
  "Array.prototype.map.call(new Uint8Array([1, 2, 3]), (x) => x * 2)",
  "(function () { return Array.prototype.slice.call(arguments, 1) })(1, 2, 3)",
  "Array.prototype.join.call(new Uint16Array([1, 2]))",
  "'ab'.repeat(3) + '|' + 'x'.padStart(4, 'ab') + '|' + 'x'.padEnd(3) + '|' + 'xyz'.padStart(2)",
  "['hello world'.indexOf('o'), 'hello world'.indexOf('o', 5), 'hello world'.lastIndexOf('o'), 'hello world'.lastIndexOf('o', 5), 'hello'.includes('ell'), 'hello'.includes('ell', 2)]",
  "['a,b,,c'.split(','), 'a,b,c'.split(',', 2), 'abc'.split(''), 'a1b2'.split(/\\d/)]",
  "['a-b-c'.replace('-', '+'), 'a-b-c'.replaceAll('-', '$&$&'), 'a-b'.replace('-', (m, i, s) => i + s), 'aXbX'.replace(/x/gi, '_')]",
  "[(255n).toString(16), (255n).toString(), (-255n).toString(7), (2n ** 100n).toString(), (10n).toLocaleString()]",
  "[String(12345678901234567890n), `${2n ** 64n}`]",
  "[String.raw`a\\n${1}b${2}`, String.raw({ raw: ['x', 'y', 'z'] }, 1, 2, 3), String.raw({ raw: 'abc' }, '-', '+')]",
  "(() => { const p = new Proxy({ a: 1 }, { get: (t, k) => (k in t ? t[k] : 'default') }); return [p.a, p.b] })()",
];

/** Inputs over the search threshold (haystack × needle > 2 ** 22) take the RegExp path: same results. */
const SLOW_PATH = "const hay = 'ab'.repeat(2 ** 20) + 'needle (.*+?) [$&] ' + 'ab'.repeat(10);\n" +
  "const needle = 'needle (.*+?) [$&] ab';\n";
const SLOW_PATH_CASES = [
  "[hay.indexOf(needle), hay.indexOf(needle, 10), hay.indexOf(needle, hay.length), hay.includes(needle)]",
  "[hay.lastIndexOf(needle), hay.lastIndexOf(needle, 5), hay.lastIndexOf(needle, 2 ** 21 + 1)]",
  "hay.split(needle).map((p) => p.length)",
  "hay.replace(needle, '<$&|$$>').slice(2 ** 21 - 2, 2 ** 21 + 40)",
  "[hay.split(needle, 1).length, hay.split(needle, 0).length, (hay + needle + needle).split(needle).length]",
  "hay.replaceAll(needle, (m, i) => '#' + i + '#').slice(-40)",
];

Deno.test("native bounds: ordinary uses give V8's results", async (t) => {
  await t.step("Array, String and BigInt methods", async () => {
    for (const code of ORDINARY) {
      const expected = JSON.parse(JSON.stringify((0, eval)(code)));
      const r = await run(code, {}, sandbox);
      assert.equal(r.error, undefined, `${code}: ${JSON.stringify(r.error)}`);
      assert.deepEqual(r.output, expected, code);
    }
  });

  await t.step("long string searches through the RegExp path", async () => {
    for (const code of SLOW_PATH_CASES) {
      const expected = JSON.parse(JSON.stringify((0, eval)(SLOW_PATH + code)));
      const r = await run(SLOW_PATH + code, {}, sandbox);
      assert.equal(r.error, undefined, `${code}: ${JSON.stringify(r.error)}`);
      assert.deepEqual(r.output, expected, code);
    }
  });

  await t.step("large but legitimate arrays and strings stay within the caps", async () => {
    const r = await run(
      "const a = Array.from({ length: 2 ** 20 }, (_, i) => i);\n" +
        "[a.indexOf(2 ** 20 - 1), a.includes(-1), a.slice(-2), a.concat([1]).length, 'x'.repeat(2 ** 24).length]",
      {},
      sandbox,
    );
    assert.deepEqual(r.output, [2 ** 20 - 1, false, [2 ** 20 - 2, 2 ** 20 - 1], 2 ** 20 + 1, 2 ** 24]);
  });
});
