/**
 * The QuickJS sandbox on Cloudflare Workers: starts `tests/support/workers/sandbox_harness.ts` under workerd
 * (`wrangler dev`, local mode, the .wasm imported as a CompiledWasm module) and runs snippets over HTTP.
 */

import assert from "node:assert/strict";
import type { CodeExecutionResult } from "../../lib/executors/executor.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler_dev.ts";

const CONFIG = new URL("../support/workers/sandbox_harness.toml", import.meta.url).pathname;

async function workerdPids(): Promise<Set<string>> {
  const { stdout } = await new Deno.Command("pgrep", { args: ["workerd"], stdout: "piped", stderr: "null" }).output();
  return new Set(new TextDecoder().decode(stdout).split("\n").filter(Boolean));
}

Deno.test({
  name: "QuickJS executor under workerd (wrangler dev)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const before = await workerdPids();
    let dev: WranglerDev | undefined;
    try {
      dev = await startWranglerDev({ config: CONFIG });
      const url = dev.url;
      const execute = async (code: string, extra: Record<string, unknown> = {}): Promise<CodeExecutionResult> => {
        const response = await fetch(`${url}/execute`, { method: "POST", body: JSON.stringify({ code, ...extra }) });
        assert.equal(response.status, 200, await response.clone().text());
        return await response.json();
      };

      await t.step("tool calls, output and logs", async () => {
        const r = await execute(
          'const r = await reverse_words({ text: "a b c" });\nprint(r, await add({ a: 1, b: 2 }));\nr.length',
        );
        assert.equal(r.output, 5);
        assert.equal(r.logs, "c b a 3\n");
        assert.equal(r.error, undefined);
      });

      await t.step("final_answer ends the code, even inside try/catch", async () => {
        const r = await execute("try { final_answer({ done: true }) } catch { print('caught') }\nprint('after')");
        assert.deepEqual(r.finalAnswer, { value: { done: true } });
        assert.equal(r.logs, "");
      });

      await t.step("variables persist from one request to the next", async () => {
        const first = await execute(
          'import { mean } from "math";\nconst scores = [3, 5, 10];\nlet total = mean(scores)',
        );
        assert.deepEqual(first.variables, { scores: [3, 5, 10], total: 6, "@imports": { mean: ["math", "mean"] } });
        const second = await execute("total * 2 + mean([1, 3])", { variables: first.variables });
        assert.equal(second.output, 14);
      });

      await t.step("errors carry the model's line", async () => {
        const r = await execute('print("before");\nnull.x');
        assert.equal(r.logs, "before\n");
        assert.equal(r.error?.name, "TypeError");
        assert.equal(r.error?.line, 2);
      });

      await t.step("an infinite loop is stopped (time limit or CPU budget, whichever comes first)", async () => {
        const start = performance.now();
        const r = await execute("let i = 0;\nwhile (true) { i++ }", { timeLimitMs: 1_000 });
        assert.equal(r.error?.name, "TimeoutError");
        assert.match(
          r.error!.message,
          /^Execution exceeded (the time limit of 1 s|its CPU budget \(4000 interrupt checks\))$/,
        );
        assert.ok(performance.now() - start < 20_000);
      });

      await t.step(
        "the CPU budget alone stops a loop (deployed Workers freeze the clock during execution)",
        async () => {
          const r = await execute("while (true) {}", { timeLimitMs: 60_000, maxInterruptChecks: 50 });
          assert.equal(r.error?.message, "Execution exceeded its CPU budget (50 interrupt checks)");
        },
      );

      await t.step("natively looping builtins are refused before they start (no threads to fall back on)", async () => {
        const limit = "is over the sandbox's limit of 8388608 (builtins that loop natively cannot be interrupted)";
        for (
          const [code, message] of [
            [
              "Array.prototype.indexOf.call({ length: 2 ** 40 }, 1)",
              `Array.prototype.indexOf: length ${2 ** 40} ${limit}`,
            ],
            [
              "const s = [];\ns.length = 2 ** 32 - 1;\ns.join('')",
              `Array.prototype.join: length ${2 ** 32 - 1} ${limit}`,
            ],
            [
              "Array.prototype.reverse.call({ length: 2 ** 40 })",
              `Array.prototype.reverse: length ${2 ** 40} ${limit}`,
            ],
            [
              "'ab'.repeat(2 ** 28)",
              `String.prototype.repeat: result length ${
                2 ** 29
              } is over the sandbox's limit of 33554432 (builtins that loop natively cannot be interrupted)`,
            ],
          ]
        ) {
          const start = performance.now();
          const r = await execute(code, { timeLimitMs: 2_000 });
          assert.deepEqual(r.error && { name: r.error.name, message: r.error.message }, {
            name: "RangeError",
            message,
          });
          assert.ok(performance.now() - start < 10_000);
        }
        const getter = await execute(
          "let n = 0;\nArray.prototype.includes.call({ get length() { return n++ ? 2 ** 40 : 1 } }, 1)",
        );
        assert.equal(getter.error?.name, "TypeError");
        assert.match(
          getter.error!.message,
          /^Array\.prototype\.includes refuses an array-like whose length is computed/,
        );
      });

      await t.step(
        "a loop of medium native calls is charged to the CPU budget while the clock stands still",
        async () => {
          const start = performance.now();
          const r = await execute("for (;;) Array.prototype.indexOf.call({ length: 2 ** 20 }, 1)", {
            timeLimitMs: 60_000,
            maxInterruptChecks: 2_000,
          });
          assert.equal(r.error?.message, "Execution exceeded its CPU budget (2000 interrupt checks)");
          const search = await execute(
            "const h = 'a'.repeat(2 ** 20), n = 'a'.repeat(2 ** 19) + 'b';\nh.indexOf(n)",
            { timeLimitMs: 60_000, maxInterruptChecks: 2_000 },
          );
          assert.equal(search.error?.message, "Execution exceeded its CPU budget (2000 interrupt checks)");
          assert.ok(performance.now() - start < 30_000);
        },
      );

      await t.step("memory and stack limits, then the worker still serves", async () => {
        const memory = await execute("const a = [];\nwhile (true) a.push('x'.repeat(1e5) + a.length)", {
          memoryLimitBytes: 16 * 1024 * 1024,
        });
        assert.equal(memory.error?.name, "MemoryLimitError");
        const stack = await execute("function down(n) { return down(n + 1) }\ndown(0)");
        assert.equal(stack.error?.name, "RangeError");
        const never = await execute("await new Promise(() => {})");
        assert.equal(never.error?.name, "PendingPromiseError");
        assert.equal((await execute("await add({ a: 40, b: 2 })")).output, 42);
      });
    } finally {
      await dev?.close();
    }
    const leftover = [...await workerdPids()].filter((pid) => !before.has(pid));
    assert.deepEqual(leftover, [], "workerd processes left running");
  },
});
