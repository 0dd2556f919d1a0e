/**
 * lib/agents/ keeps no module-level mutable state and reads no clock inline (issue 11): a step's only inputs are its
 * spec, its state and its `io` (the clock included, `Date.now` being only the default of `now`), so two agents, two
 * runs or two tests in one process never see each other through a module.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { assertCheckWorks, findingsUnder, stripComments } from "../support/source_text.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What in `source` is module-level mutable state or an inline clock read, one line each. */
function findings(source: string): string[] {
  const code = stripComments(source);
  const found: string[] = [];
  // A top-level binding that can be reassigned.
  for (const match of code.matchAll(/^(?:export\s+)?(?:let|var)\s+\w+/gm)) found.push(match[0]);
  // A top-level container made mutable (a Map, a Set, an array or object literal not frozen).
  const container = /^(?:export\s+)?const\s+\w+(?:\s*:[^=\n]+)?\s*=\s*(?:new\s+(?:Weak)?(?:Map|Set)\b|\[|\{)/gm;
  for (const match of code.matchAll(container)) found.push(match[0]);
  // The clock read where the step runs, instead of `io.now` (a default `?? Date.now` passes the function).
  const outsideStrings = code.replace(
    /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g,
    (literal) => " ".repeat(literal.length),
  );
  for (const match of outsideStrings.matchAll(/\bDate\.now\s*\(\s*\)|\bnew\s+Date\s*\(\s*\)/g)) found.push(match[0]);
  return found;
}

Deno.test("lib/agents/: no module-level mutable state, no clock read inline", async (t) => {
  await t.step("the check finds each kind, and ignores comments, locals and frozen tables", () => {
    const bad = [
      "let count = 0;",
      "export var cache;",
      "const seen = new Map<string, number>();",
      "export const kinds: Record<string, number> = {};",
      "const queue = [];",
      "function f() { return Date.now(); }",
      "const at = new Date();",
    ];
    const good = [
      "// let count = 0;",
      "/* const seen = new Map(); */",
      "function f() {\n  let local = 0;\n  const map = new Map();\n  return [local, map];\n}",
      "const KINDS = Object.freeze({ a: 1 });",
      "const now = options.now ?? Date.now;",
      "const text = 'Date.now()';",
    ];
    assertCheckWorks(findings, bad, good);
  });

  await t.step("every file of lib/agents/ passes", async () => {
    assert.deepEqual(await findingsUnder(ROOT, "lib/agents", findings), []);
  });
});
