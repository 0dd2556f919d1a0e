import assert from "node:assert/strict";
import type { SandboxTool } from "../../lib/executors/executor.ts";
import { run } from "./executor_fixture.ts";

/** ECMAScript globals of a bare QuickJS context. */
const ECMASCRIPT = [
  "AggregateError",
  "Array",
  "ArrayBuffer",
  "BigInt",
  "BigInt64Array",
  "BigUint64Array",
  "Boolean",
  "DataView",
  "Date",
  "Error",
  "EvalError",
  "FinalizationRegistry",
  "Float16Array",
  "Float32Array",
  "Float64Array",
  "Function",
  "Infinity",
  "Int16Array",
  "Int32Array",
  "Int8Array",
  "InternalError",
  "Iterator",
  "JSON",
  "Map",
  "Math",
  "NaN",
  "Number",
  "Object",
  "Promise",
  "Proxy",
  "RangeError",
  "ReferenceError",
  "Reflect",
  "RegExp",
  "Set",
  "SharedArrayBuffer",
  "String",
  "Symbol",
  "SyntaxError",
  "TypeError",
  "URIError",
  "Uint16Array",
  "Uint32Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "WeakMap",
  "WeakRef",
  "WeakSet",
  "decodeURI",
  "decodeURIComponent",
  "encodeURI",
  "encodeURIComponent",
  "escape",
  "eval",
  "globalThis",
  "isFinite",
  "isNaN",
  "parseFloat",
  "parseInt",
  "undefined",
  "unescape",
];
const SANDBOX_API = ["clearInterval", "clearTimeout", "console", "final_answer", "print", "setInterval", "setTimeout"];

const hostError = new Error("visible message");
Object.assign(hostError, { secret: "host secret", cause: globalThis });
const leakyTools: Record<string, SandboxTool> = {
  throws_host_error: () => {
    throw hostError;
  },
  rejects_with_object: () => Promise.reject({ toString: () => "odd", secret: Deno.pid }),
  returns_host_objects: () => ({ fn: () => Deno, url: new URL("file:///etc/passwd"), date: new Date(0), deno: Deno }),
  inspect_args: (args) => ({
    proto: Object.getPrototypeOf(args) === Object.prototype,
    keys: Object.keys(args as object),
  }),
};

Deno.test("sandbox isolation: escape attempts", async (t) => {
  await t.step("the global object holds only ECMAScript builtins, the tools and the sandbox API", async () => {
    const r = await run(
      "[Object.getOwnPropertyNames(globalThis).sort(), Object.getOwnPropertySymbols(globalThis).map(String)]",
      {
        tools: { my_tool: () => 1 },
      },
    );
    assert.deepEqual(r.output, [
      [...ECMASCRIPT, ...SANDBOX_API, "my_tool"].sort(),
      ["Symbol(Symbol.toStringTag)", "Symbol(smolstep.module)"],
    ]);
  });

  await t.step("no host capabilities are visible", async () => {
    const names = [
      "fetch",
      "Deno",
      "process",
      "require",
      "module",
      "exports",
      "Bun",
      "WebAssembly",
      "XMLHttpRequest",
      "WebSocket",
      "importScripts",
      "navigator",
      "caches",
      "crypto",
      "std",
      "os",
      "scriptArgs",
      "Buffer",
      "queueMicrotask",
    ];
    const r = await run(`[${names.map((n) => `typeof ${n}`).join(", ")}]`);
    assert.deepEqual(r.output, names.map(() => "undefined"));
  });

  await t.step("constructor.constructor reaches only the sandbox's own global", async () => {
    const r = await run(
      "const g = (function () {}).constructor.constructor('return this')();\n" +
        "const viaPrint = print.constructor.constructor('return this')();\n" +
        "const viaTool = my_tool.constructor.constructor('return typeof Deno + typeof fetch')();\n" +
        "[g === globalThis, viaPrint === globalThis, viaTool, typeof g.Deno, new Function('return 1 + 1')()]",
      { tools: { my_tool: () => 1 } },
    );
    assert.deepEqual(r.output, [true, true, "undefinedundefined", "undefined", 2]);
  });

  await t.step("eval, indirect eval and async function constructors stay inside", async () => {
    const r = await run(
      "const AsyncFunction = (async () => {}).constructor;\n" +
        "[eval('typeof Deno'), (0, eval)('typeof process'), await new AsyncFunction('return typeof fetch')()]",
    );
    assert.deepEqual(r.output, ["undefined", "undefined", "undefined"]);
  });

  await t.step("a host error reaches the code as a fresh sandbox error carrying only the message", async () => {
    const r = await run(
      "try { await throws_host_error({}) } catch (e) {\n" +
        "  const chain = []; for (let p = e; p; p = Object.getPrototypeOf(p)) chain.push(Object.getOwnPropertyNames(p).sort().join());\n" +
        "  [e.name, e.message, e.secret === undefined, e.cause === undefined, e instanceof Error, e.constructor === Error,\n" +
        "   e.constructor.constructor('return typeof Deno')(), Object.keys(e), chain.length, /file:|\\.ts|ext:/.test(e.stack)]\n" +
        "}",
      { tools: leakyTools },
    );
    assert.deepEqual(r.output, [
      "ToolError",
      "throws_host_error failed: visible message",
      true,
      true,
      true,
      true,
      "undefined",
      ["name"],
      3,
      false,
    ]);
  });

  await t.step("odd rejection values become messages too", async () => {
    const r = await run("try { await rejects_with_object({}) } catch (e) { [e.message, 'secret' in e] }", {
      tools: leakyTools,
    });
    assert.deepEqual(r.output, ["rejects_with_object failed: a non-error value was thrown (object)", false]);
  });

  await t.step("tool results arrive as plain data only", async () => {
    const r = await run(
      "const r = await returns_host_objects({});\n[Object.keys(r), r.url, r.date, Object.keys(r.deno).length > 0, typeof r.fn]",
      { tools: leakyTools },
    );
    assert.deepEqual(r.output, [
      ["url", "date", "deno"],
      "file:///etc/passwd",
      "1970-01-01T00:00:00.000Z",
      true,
      "undefined",
    ]);
  });

  await t.step("arguments arrive on the host as plain data; prototype pollution stays inside", async () => {
    const r = await run(
      "Object.prototype.polluted = 'yes'; Array.prototype.extra = 1;\n" +
        'await inspect_args(JSON.parse(\'{"__proto__": {"polluted": true}, "a": 1}\'))',
      { tools: leakyTools },
    );
    assert.deepEqual(r.output, { proto: true, keys: ["__proto__", "a"] });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(([] as unknown as Record<string, unknown>).extra, undefined);
  });

  await t.step("imports beyond the authorized ones are refused, statically and dynamically", async () => {
    for (
      const code of [
        'import fs from "fs"',
        'import { readFile } from "node:fs"',
        'await import("https://example.com/x.js")',
        'await import("data:text/javascript,export default 1")',
        'await import("./local.js")',
        'await import("Deno")',
      ]
    ) {
      const r = await run(code);
      assert.equal(r.error?.name, "Error", code);
      assert.match(r.error!.message, /^Import of module '.+' is not allowed\. Authorized imports: math$/, code);
    }
    const registry = await run("globalThis[Symbol.for('smolstep.module')]('fs')");
    assert.match(registry.error!.message, /not allowed/);
    const overwrite = await run("'use strict'; globalThis[Symbol.for('smolstep.module')] = () => ({})");
    assert.equal(overwrite.error?.name, "TypeError");
  });

  await t.step("timers take functions only, not strings to evaluate", async () => {
    const r = await run("setTimeout('globalThis.x = 1', 0)");
    assert.match(r.error!.message, /timer callback must be a function/);
  });

  await t.step("each step gets a fresh sandbox: nothing leaks between executions", async () => {
    const [a, b] = await Promise.all([
      run("globalThis.secret = 'A'; Object.prototype.mark = 1; await add({ a: 1, b: 1 }); secret"),
      run("await add({ a: 1, b: 1 }); [typeof secret, 'mark' in {}]"),
    ]);
    assert.equal(a.output, "A");
    assert.deepEqual(b.output, ["undefined", false]);
    assert.deepEqual((await run("[typeof secret, 'mark' in {}]")).output, ["undefined", false]);
  });
});
