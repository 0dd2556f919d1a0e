import assert from "node:assert/strict";
import { checkToolModule, freeNames, sandboxProgram, toolModuleFromFunction } from "../../lib/hub/tool_module.ts";
import { ToolModuleError } from "../../lib/hub/mod.ts";

Deno.test("tool module: function sources become `export default` modules", async (t) => {
  await t.step("arrow, function expression, async and plain method shorthand", () => {
    const spec = {
      arrow: ({ a }: { a: number }) => a + 1,
      named: function twice(n: number) {
        return n * 2;
      },
      async method({ q }: { q: string }) {
        return await Promise.resolve(q);
      },
      plain(x: number) {
        return x;
      },
    };
    assert.match(toolModuleFromFunction(spec.arrow, "t"), /\nexport default \(\{ a \}\) ?=> ?a \+ 1;\n$/);
    assert.match(toolModuleFromFunction(spec.named, "t"), /\nexport default function twice\(n\) \{/);
    assert.match(toolModuleFromFunction(spec.method, "t"), /\nexport default async function method\(\{ q \}\) \{/);
    assert.match(toolModuleFromFunction(spec.plain, "t"), /\nexport default function plain\(x\) \{/);
  });

  await t.step("names inside strings, templates, comments and property keys are not free", () => {
    const source = `({ items }) => {
      // uses secretValue in a comment
      const label = "hostName" + 'other';
      const shape = { width: items.length, nested: { depth: 1 } };
      return \`\${label}: \${items.map((item) => item.name).join(", ")} \${shape.width}\`;
    }`;
    assert.deepEqual(freeNames(source), []);
  });

  await t.step("free names: a template expression's, a call's, a spread's, this", () => {
    assert.deepEqual(freeNames("(x) => `${prefix}${x}`"), ["prefix"]);
    assert.deepEqual(freeNames("(x) => helper(x)"), ["helper"]);
    assert.deepEqual(freeNames("() => ({ ...defaults })"), ["defaults"]);
    assert.deepEqual(freeNames("function () { return this.value; }"), ["this"]);
    assert.deepEqual(freeNames("() => { try { return JSON.parse('x'); } catch (e) { return String(e); } }"), []);
  });

  await t.step("a bound or native function is refused", () => {
    assert.throws(() => toolModuleFromFunction(Math.max, "t"), ToolModuleError);
    assert.throws(() => toolModuleFromFunction(((x: number) => x).bind(null), "t"), ToolModuleError);
    assert.throws(() => toolModuleFromFunction("x => x", "t"), /has no function/);
  });
});

Deno.test("tool module: the contract of tool.js", () => {
  assert.equal(checkToolModule("export default (a) => a;"), "export default (a) => a;");
  assert.throws(() => checkToolModule("const f = 1;"), /exactly one 'export default'[^]*found 0/);
  assert.throws(() => checkToolModule("export default 1;\nexport default 2;"), /found 2/);
  assert.throws(() => checkToolModule('import x from "y";\nexport default x;'), /may not use 'import'/);
  assert.throws(() => checkToolModule("export const a = 1;\nexport default () => a;"), /may not use 'export'/);
  const program = sandboxProgram(
    "const helper = (n) => n + 1;\nexport default async function forward({ n }) {\n  return helper(n);\n}\n",
  );
  assert.match(program, /^const helper = \(n\) => n \+ 1;\nconst __smolstep_tool_forward = async function forward/);
  assert.match(program, /\n;final_answer\(await __smolstep_tool_forward\(args\)\);\n$/);
});
