import assert from "node:assert/strict";
import { formatObservation } from "../../lib/executors/executor.ts";
import { executorWith, run } from "./executor_fixture.ts";

Deno.test("QuickJSExecutor: output, logs and errors", async (t) => {
  await t.step("the last expression statement is the output", async () => {
    const r = await run("const a = 2;\na * 21");
    assert.equal(r.output, 42);
    assert.equal(r.error, undefined);
    assert.deepEqual((await run("({ a: [1, 'x'], b: null })")).output, { a: [1, "x"], b: null });
    assert.equal((await run("const x = 1")).output, undefined);
    assert.equal((await run("if (true) { 'block' }")).output, "block");
  });

  await t.step("a non-JSON last value comes back in printed form", async () => {
    assert.equal((await run("new Map([['k', 1]])")).output, 'Map(1) {"k" => 1}');
    assert.equal((await run("(function named() {})")).output, "[Function: named]");
    assert.equal((await run("10n")).output, "10n");
  });

  await t.step("print and console.* are captured and formatted JSON-ish", async () => {
    const r = await run(
      'print("a", 1, true, null, undefined);\nconsole.log({ k: "v", n: [1, 2] });\n' +
        'console.info("i"); console.warn("w"); console.error("e"); console.debug("d");\n' +
        "const c = { name: 'c' }; c.self = c; print(c);\nclass P { constructor() { this.x = 1 } }; print(new P());\n" +
        "print(new Error('bad'), new Set([1]), new Uint8Array([1, 2]), Symbol('s'), -0, [undefined])",
    );
    assert.equal(
      r.logs,
      'a 1 true null undefined\n{"k": "v", "n": [1, 2]}\ni\nw\ne\nd\n{"name": "c", "self": [Circular]}\nP {"x": 1}\n' +
        "Error: bad Set(1) {1} Uint8Array(2) [1, 2] Symbol(s) -0 [undefined]\n",
    );
  });

  await t.step("long structures print on several lines", async () => {
    const r = await run("print({ first: 'a'.repeat(40), second: 'b'.repeat(40) })");
    assert.equal(r.logs, `{\n  "first": "${"a".repeat(40)}",\n  "second": "${"b".repeat(40)}"\n}\n`);
  });

  await t.step("output is capped with a truncation note", async () => {
    const small = executorWith({ maxOutputChars: 100 });
    const r = await run("for (let i = 0; i < 50; i++) print('0123456789')", {}, small);
    assert.equal(r.logs.length > 100, true);
    assert.ok(r.logs.startsWith("0123456789\n".repeat(9) + "0"));
    assert.match(r.logs, /\[Output truncated: 450 more characters were not shown \(limit 100\)\]$/);
    const big = await run("'x'.repeat(500)", {}, small);
    assert.equal(big.output, "x".repeat(100) + "... [truncated]");
  });

  await t.step(
    "capped logs and output never end in half of a surrogate pair (lib/text_clip.ts cuts both)",
    async () => {
      const small = executorWith({ maxOutputChars: 100 });
      // 99 characters, then an emoji (two UTF-16 units) across the cap, then more that is dropped.
      const logs = (await run("print('a'.repeat(99) + '\u{1F600}' + 'b')", {}, small)).logs;
      assert.ok(logs.startsWith("a".repeat(99) + "\n[Output truncated: 4 more characters"), logs.slice(95, 140));
      const out = await run("new Map([['k', 'a'.repeat(83) + '\u{1F600}'.repeat(10)]])", {}, small);
      const text = String(out.output);
      assert.ok(text.endsWith("... [truncated]"), text);
      assert.ok(!/[\uD800-\uDBFF]$/.test(text.slice(0, -"... [truncated]".length)), "no lone high surrogate");
    },
  );

  await t.step("errors carry the line in the model's code; earlier output is kept", async () => {
    const r = await run('print("before");\nconst o = null;\n\no.missing;\nprint("after")');
    assert.equal(r.logs, "before\n");
    assert.deepEqual(r.error, { name: "TypeError", message: "cannot read property 'missing' of null", line: 4 });
  });

  await t.step("the line is the innermost frame of the model's code", async () => {
    const r = await run(
      "function inner() {\n  throw new RangeError('deep');\n}\nfunction outer() { inner() }\nouter()",
    );
    assert.deepEqual(r.error, { name: "RangeError", message: "deep", line: 2 });
  });

  await t.step("syntax errors and lines after a rewritten multi-line import", async () => {
    const syntax = await run("const a = 1;\nconst b = ;");
    assert.equal(syntax.error?.name, "SyntaxError");
    assert.equal(syntax.error?.line, 2);
    assert.equal(syntax.error?.notCompiled, true, "nothing of it ran");
    const thrown = await run("print('ran');\nJSON.parse('{')");
    assert.equal(thrown.error?.name, "SyntaxError");
    assert.equal(thrown.error?.notCompiled, undefined, "a SyntaxError thrown while running is not a compile error");
    const afterImport = await run('import {\n  mean,\n  median,\n} from "math";\nprint(mean([1, 3]));\nundefinedName');
    assert.equal(afterImport.logs, "2\n");
    assert.deepEqual(afterImport.error, { name: "ReferenceError", message: "'undefinedName' is not defined", line: 6 });
  });

  await t.step("thrown non-errors are described", async () => {
    assert.deepEqual((await run("throw { code: 7 }")).error, { name: "Error", message: 'Uncaught {"code": 7}' });
  });

  await t.step("the observation text follows smolagents", async () => {
    assert.equal(
      formatObservation(await run("print('hi'); 3")),
      "Execution logs:\nhi\n\nLast output from code snippet:\n3",
    );
    assert.equal(formatObservation(await run("x.y")), "Execution logs:\n\nReferenceError (line 1): 'x' is not defined");
  });

  await t.step("timers work inside the time limit", async () => {
    const r = await run(
      "const seen = [];\nsetTimeout(() => seen.push('late'), 30);\nsetTimeout(() => seen.push('early'), 10);\n" +
        "const id = setTimeout(() => seen.push('never'), 5); clearTimeout(id);\n" +
        "await new Promise((resolve) => setTimeout(resolve, 60));\nseen",
    );
    assert.deepEqual(r.output, ["early", "late"]);
  });
});

Deno.test("QuickJSExecutor: tools", async (t) => {
  await t.step("tools take one object of named arguments and are awaited", async () => {
    const r = await run(
      'const r = await reverse_words({ text: "a b c" });\nconst s = await add({ a: 2, b: 3 });\n[r, s]',
    );
    assert.deepEqual(r.output, ["c b a", 5]);
  });

  await t.step("concurrent calls with Promise.all", async () => {
    const r = await run("await Promise.all([add({ a: 1, b: 1 }), add({ a: 2, b: 2 }), echo({ x: [1] })])");
    assert.deepEqual(r.output, [2, 4, { x: [1] }]);
  });

  await t.step("a call left without await on the last line still gives its value", async () => {
    assert.equal((await run('reverse_words({ text: "x y" })')).output, "y x");
  });

  await t.step("a call whose result is never awaited fails clearly", async () => {
    const r = await run('reverse_words({ text: "x y" });\n"done"');
    assert.equal(r.error?.name, "ToolCallNotAwaitedError");
    assert.match(r.error!.message, /reverse_words\(\.\.\.\) called without await/);
    const used = await run('const p = reverse_words({ text: "x y" });\np.toUpperCase()');
    assert.equal(used.error?.name, "TypeError");
    assert.match(used.error!.message, /note: reverse_words\(\.\.\.\) called without await/);
  });

  await t.step(".then() counts as using the result", async () => {
    const r = await run('reverse_words({ text: "x y" }).then((v) => print(v));\n1');
    assert.equal(r.error, undefined);
    assert.equal(r.logs, "y x\n");
  });

  // Restated (issue 11): a bare argument used to be refused here; as in smolagents, a tool with one input takes
  // its value alone, so the sandbox passes it to the host, which checks it against the tool's inputs.
  // Restated again: several arguments were refused in the sandbox; they now reach the host as positional arguments
  // (`{"@positional": [...]}`), which the agent maps to the tool's inputs in declared order.
  await t.step("one argument passes as it is (a bare value included); several as positional arguments", async () => {
    assert.deepEqual((await run('await echo("a b")')).output, "a b");
    assert.deepEqual((await run("await echo([1, 2])")).output, [1, 2]);
    assert.deepEqual((await run("await echo()")).output, {});
    assert.deepEqual((await run('await echo("a", 3, undefined, { k: [1] })')).output, {
      "@positional": ["a", 3, null, { k: [1] }],
    });
    const fn = await run("await echo({ f: () => 1 })");
    assert.match(fn.error!.message, /cannot pass \[Function: f\] out of the sandbox/);
  });

  await t.step("tool errors become sandbox ToolErrors at the calling line", async () => {
    const r = await run(
      'print("start");\ntry {\n  await fail({ message: "nope" });\n} catch (e) { print(e.name, e.message) }\n' +
        'await fail({ message: "again" })',
    );
    assert.equal(r.logs, "start\nToolError fail failed: nope\n");
    assert.deepEqual(r.error, { name: "ToolError", message: "fail failed: again", line: 5 });
  });

  await t.step("Uint8Array crosses both ways", async () => {
    const r = await run(
      "const b = await bytes({ size: 300 });\n[b instanceof Uint8Array, b.length, b[299], await byte_length({ data: b })]",
    );
    assert.deepEqual(r.output, [true, 300, 43, 300]);
    assert.deepEqual((await run("final_answer(new Uint8Array([1, 2, 3]))")).finalAnswer, {
      value: new Uint8Array([1, 2, 3]),
    });
    assert.deepEqual((await run("new Uint8Array([4, 5])")).output, new Uint8Array([4, 5]));
  });

  await t.step("tool results that are not data fail the call", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = await run("await weird({})", { tools: { weird: () => cyclic } });
    assert.equal(r.error?.name, "ToolError");
    assert.match(r.error!.message, /weird failed: its result is not JSON data/);
  });
});

Deno.test("QuickJSExecutor: final_answer", async (t) => {
  await t.step("ends the run with its value", async () => {
    const r = await run('print("working");\nfinal_answer({ answer: 42 });\nprint("never")');
    assert.deepEqual(r.finalAnswer, { value: { answer: 42 } });
    assert.equal(r.logs, "working\n");
    assert.equal(r.error, undefined);
  });

  await t.step("inside nested functions, try/catch and finally nothing else runs", async () => {
    const r = await run(
      "let after = 0;\nfunction deep() { try { final_answer('x') } catch (e) { after = 1; print('caught') } " +
        "finally { after = 2; print('finally') } }\nfunction outer() { try { deep() } catch { after = 3 } }\nouter(); after = 4; print('after')",
    );
    assert.deepEqual(r.finalAnswer, { value: "x" });
    assert.equal(r.logs, "");
    assert.deepEqual(r.variables, { after: 0 });
  });

  await t.step("inside an async function awaited in try/catch", async () => {
    const r = await run(
      "let state = 'start';\nasync function go() { await add({ a: 1, b: 2 }); final_answer(state) }\n" +
        "try { await go() } catch (e) { state = 'swallowed'; print('caught', e) }\nstate = 'after'",
    );
    assert.deepEqual(r.finalAnswer, { value: "start" });
    assert.equal(r.logs, "");
    assert.deepEqual(r.variables, { state: "start" });
  });

  await t.step("a promise is refused; non-data is answered in printed form", async () => {
    const r = await run('final_answer(reverse_words({ text: "a b" }))');
    assert.equal(r.finalAnswer, undefined);
    assert.match(r.error!.message, /final_answer received a Promise/);
    assert.deepEqual((await run("final_answer(new Map([[1, 2]]))")).finalAnswer, { value: "Map(1) {1 => 2}" });
  });

  await t.step("final_answer cannot be replaced", async () => {
    const r = await run("final_answer = () => 1");
    assert.equal(r.error?.name, "TypeError");
    const decl = await run("function final_answer() {}");
    assert.match(decl.error!.message, /final_answer is a tool; choose another name/);
  });

  await t.step("a tool named final_answer is ignored", async () => {
    const r = await run("final_answer(1)", { tools: { final_answer: () => "host" } });
    assert.deepEqual(r.finalAnswer, { value: 1 });
  });
});
