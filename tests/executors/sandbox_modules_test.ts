import assert from "node:assert/strict";
import { ConfigurationError } from "../../lib/errors.ts";
import { MATH_EXPORTS } from "../../lib/executors/sandbox_modules.ts";
import { executorWith, run } from "./executor_fixture.ts";

Deno.test("authorized imports", async (t) => {
  await t.step("the built-in math module", async () => {
    const r = await run(
      'import { sum, mean, median, mode, variance, stdev, pstdev, round, clamp, gcd, lcm, factorial, comb, perm, isPrime, range, min, max, sqrt, PI } from "math";\n' +
        "[sum([0.1, 0.2, 0.3]), mean([1, 2, 3, 4]), median([3, 1, 2]), median([4, 1, 3, 2]), mode([1, 2, 2, 3]), variance([1, 2, 3, 4]),\n" +
        " round(stdev([2, 4, 4, 4, 5, 5, 7, 9]), 4), pstdev([2, 4, 4, 4, 5, 5, 7, 9]), round(2.675, 2), clamp(15, 0, 10), gcd(12, 18, 24),\n" +
        " lcm(4, 6), factorial(5), comb(5, 2), perm(5, 2), isPrime(97), range(5), range(10, 0, -3), min([4, 2, 8]), max(4, 2, 8), sqrt(16), PI]",
    );
    assert.deepEqual(r.output, [
      0.6,
      2.5,
      2,
      2.5,
      2,
      1.6666666666666667,
      2.1381,
      2,
      2.68,
      10,
      6,
      12,
      120,
      10,
      20,
      true,
      [0, 1, 2, 3, 4],
      [10, 7, 4, 1],
      2,
      8,
      4,
      Math.PI,
    ]);
  });

  await t.step("default and namespace imports, and clear errors on bad input", async () => {
    const r = await run(
      'import math from "math";\nimport * as m from "math";\n[math.mean([2, 4]), m.gcd(9, 6), typeof m.default]',
    );
    assert.deepEqual(r.output, [3, 3, "object"]);
    const bad = await run('import { mean } from "math";\nmean([])');
    assert.deepEqual(bad.error, { name: "RangeError", message: "mean of an empty array", line: 2 });
  });

  await t.step("every listed export exists", async () => {
    const r = await run('const m = await import("math");\nObject.keys(m).filter((k) => m[k] === undefined)');
    assert.deepEqual(r.output, []);
    assert.ok(MATH_EXPORTS.includes("median"));
  });

  await t.step("math is refused when not authorized", async () => {
    const none = executorWith({ authorizedImports: [] });
    const r = await run('import { mean } from "math"', {}, none);
    assert.equal(r.error?.message, "Import of module 'math' is not allowed. Authorized imports: none");
  });

  await t.step("host modules: functions (sync and async) and values", async () => {
    const calls: unknown[] = [];
    const withHost = executorWith({
      authorizedImports: ["math", "text"],
      modules: {
        text: {
          upper: (s: string) => s.toUpperCase(),
          slowJoin: async (...parts: string[]) => {
            calls.push(parts);
            await new Promise((resolve) => setTimeout(resolve, 5));
            return parts.join("+");
          },
          explode: () => {
            throw new Error("exploded");
          },
          VERSION: "1.2",
          LIMITS: { max: 3 },
        },
        hidden: { secret: () => "nope" },
      },
    });
    const r = await run(
      'import { upper, slowJoin, VERSION, LIMITS } from "text";\n[upper("a"), await slowJoin("x", "y"), VERSION, LIMITS.max]',
      {},
      withHost,
    );
    assert.deepEqual(r.output, ["A", "x+y", "1.2", 3]);
    assert.deepEqual(calls, [["x", "y"]]);
    const thrown = await run('import { explode } from "text";\nexplode()', {}, withHost);
    assert.deepEqual(thrown.error, { name: "ToolError", message: "text.explode failed: exploded", line: 2 });
    const hidden = await run('import { secret } from "hidden"', {}, withHost);
    assert.equal(hidden.error?.message, "Import of module 'hidden' is not allowed. Authorized imports: math, text");
  });

  await t.step("tool names that clash with sandbox globals are refused", async () => {
    for (const name of ["print", "JSON", "eval", "setTimeout", "not-an-identifier"]) {
      await assert.rejects(run("1", { tools: { [name]: () => 1 } }), ConfigurationError, name);
    }
  });

  await t.step("configuration mistakes are reported when the executor is built", () => {
    assert.throws(() => executorWith({ authorizedImports: ["numpy"] }), ConfigurationError);
    assert.throws(() => executorWith({ modules: { math: {} } }), ConfigurationError);
    assert.throws(
      () => executorWith({ authorizedImports: ["bad"], modules: { bad: { value: 10n } } }),
      ConfigurationError,
    );
  });
});
