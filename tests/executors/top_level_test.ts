import assert from "node:assert/strict";
import { tokenize } from "../../lib/executors/code_scan.ts";
import { scanTopLevel } from "../../lib/executors/top_level.ts";

Deno.test("tokenize", async (t) => {
  await t.step("skips comments, keeps strings, templates and regexes whole", () => {
    const tokens = tokenize("const a = `x ${ '}' + `y${1}` } z` // c\n/* } */ b = /[/}]+/g.test(s) / 2");
    assert.deepEqual(tokens.map((t) => t.kind + ":" + t.text), [
      "name:const",
      "name:a",
      "punct:=",
      "template:`x ${ '}' + `y${1}` } z`",
      "name:b",
      "punct:=",
      "regex:/[/}]+/g",
      "punct:.",
      "name:test",
      "punct:(",
      "name:s",
      "punct:)",
      "punct:/",
      "number:2",
    ]);
    assert.equal(tokens[4].newlineBefore, true);
  });

  await t.step("never throws on unterminated input", () => {
    for (const src of ["'abc", "`abc ${", "/* x", "/abc", "a = {", "#!shebang"]) {
      assert.ok(Array.isArray(tokenize(src)));
    }
  });
});

Deno.test("scanTopLevel", async (t) => {
  await t.step("finds top-level declarations only", () => {
    const scan = scanTopLevel(
      "const a = 1, b = { c: 2 }\nlet [d, , ...e] = f\nvar { g, h: { i }, j = k, ['l']: m } = n\n" +
        "function fn() { const hidden = 1 }\nasync function* agen() {}\nclass Cls {}\n" +
        "if (x) { let block = 1 }\nfor (const loop of []) {}\nlet\nlater = 3\nconst arrow = () => { let inner }, after = 4",
    );
    assert.deepEqual(
      scan.declared.sort(),
      ["a", "after", "agen", "arrow", "b", "Cls", "d", "e", "fn", "g", "i", "j", "later", "m"].sort(),
    );
  });

  await t.step("stops initializers at automatic semicolon insertion", () => {
    const scan = scanTopLevel("let a = compute(1)\nb = 2\nconst c = a\n  .map((x) => x)\nconst d = 1");
    assert.deepEqual(scan.declared.sort(), ["a", "c", "d"]);
  });

  await t.step("rewrites import declarations on their own lines", () => {
    const scan = scanTopLevel(
      'import a, { b as c, "d e" as f } from "m";\nimport * as ns from \'n\'\nimport "side";\nx',
    );
    assert.equal(
      scan.code,
      'const { "default": a, "b": c, "d e": f } = await import("m");\nconst ns = await import("n");\nawait import("side");\nx',
    );
    assert.deepEqual(scan.imports, [
      { local: "a", module: "m", name: "default" },
      { local: "c", module: "m", name: "b" },
      { local: "f", module: "m", name: "d e" },
      { local: "ns", module: "n", name: "*" },
    ]);
    assert.deepEqual(scan.declared, []);
  });

  await t.step("keeps line numbers across a multi-line import", () => {
    const scan = scanTopLevel('import {\n  a,\n  b\n} from "m" with { type: "json" }\nfail()');
    assert.equal(scan.code.split("\n").length, 5);
    assert.equal(scan.code.split("\n")[4], "fail()");
  });

  await t.step("leaves dynamic import, import.meta and strings alone", () => {
    const src = 'const m = await import("x");\nconst s = "import a from \'b\'";\nimport.meta';
    assert.equal(scanTopLevel(src).code, src);
  });
});
