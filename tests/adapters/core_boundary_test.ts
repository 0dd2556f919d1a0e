/**
 * The core / adapter boundary: every file in lib/ outside lib/adapters/ uses Web-standard APIs only. It must not
 * reference the `Deno` global, name a `node:` module, or import a runtime adapter (lib/adapters/<runtime>/):
 * runtime handles come in as arguments, and adapters import the core, never the other way round.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stripComments } from "../support/source_text.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LIB = join(ROOT, "lib");

type Rule = "deno" | "node" | "adapter";

/**
 * Files allowed to break a rule on purpose, and why. Keep this list short: a new entry needs a reason that holds
 * on every runtime the core runs on (Workers and browsers included).
 */
const ALLOWED: Record<string, { rules: Rule[]; why: string }> = {
  // Looks the runtime up at call time (`globalThis.Deno?.writeFile`, `process.getBuiltinModule("node:fs/promises")`)
  // and throws where there are no files; nothing is imported, so Workers and browser bundles stay clean.
  "lib/types/save_file.ts": { rules: ["deno", "node"], why: "runtime looked up at call time" },
  // Local models only run on Deno and Node: checks `"Deno" in globalThis` and imports `node:fs/promises` lazily,
  // on first use; it is not reachable from lib/mod.ts (its own entry point).
  "lib/models/transformers_loader.ts": { rules: ["deno", "node"], why: "runtime looked up at call time" },
  // `@smolstep/smolstep/testing`: the scripted model server listens with `globalThis.Deno?.serve`, else imports
  // `node:http` on first use; users' tests run on Deno or Node, never in the core's bundles.
  "lib/testing/scripted_model_server.ts": { rules: ["node"], why: "runtime looked up at call time" },
};

/** Every rule `source` (the file at `path`, relative to the repository root) breaks, with the offending text. */
function violations(path: string, source: string): Array<{ rule: Rule; text: string }> {
  const code = stripComments(source);
  const found: Array<{ rule: Rule; text: string }> = [];
  // The Deno namespace: `Deno.x`, `Deno?.x`, `globalThis.Deno`, `"Deno" in globalThis`.
  for (const match of code.matchAll(/\bDeno\s*\??\.\s*\w+|["']Deno["']\s+in\b/g)) {
    found.push({ rule: "deno", text: match[0] });
  }
  // A `node:` module named anywhere: static or dynamic import, export-from, require, getBuiltinModule.
  for (const match of code.matchAll(/["'`]node:[\w/]+/g)) found.push({ rule: "node", text: match[0] });
  // An import of a runtime adapter, by a relative path resolving into lib/adapters/.
  const specifiers = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of code.matchAll(specifiers)) {
    const target = relative(ROOT, resolve(ROOT, dirname(path), match[1])).replaceAll("\\", "/");
    if (target.startsWith("lib/adapters/")) found.push({ rule: "adapter", text: match[1] });
  }
  return found;
}

async function* coreFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      if (path !== join(LIB, "adapters")) yield* coreFiles(path);
    } else if (/\.(ts|js|mjs)$/.test(entry.name)) {
      yield relative(ROOT, path).replaceAll("\\", "/");
    }
  }
}

Deno.test("the core (lib/ outside lib/adapters/) uses no runtime API and imports no adapter", async (t) => {
  await t.step("the check itself finds each kind of violation, and ignores comments", () => {
    const source = [
      "// Deno.env in a comment, import 'node:fs' too",
      "/* Deno.readFile */",
      'const url = "https://example.com"; // Deno.exit()',
      "const kv = await Deno.openKv();",
      "const fs = globalThis.Deno?.writeFile;",
      'if ("Deno" in globalThis) {}',
      'import { Buffer } from "node:buffer";',
      'const os = await import("node:os");',
      'import { DenoKvStore } from "../adapters/deno/deno_kv_store.ts";',
      'export { CloudflareQueue } from "../adapters/cloudflare/cloudflare_queue.ts";',
      'import { x } from "./adapters_like.ts";',
    ].join("\n");
    assert.deepEqual(violations("lib/runs/example.ts", source), [
      { rule: "deno", text: "Deno.openKv" },
      { rule: "deno", text: "Deno?.writeFile" },
      { rule: "deno", text: '"Deno" in' },
      { rule: "node", text: '"node:buffer' },
      { rule: "node", text: '"node:os' },
      { rule: "adapter", text: "../adapters/deno/deno_kv_store.ts" },
      { rule: "adapter", text: "../adapters/cloudflare/cloudflare_queue.ts" },
    ]);
  });

  const files: string[] = [];
  for await (const file of coreFiles(LIB)) files.push(file);
  files.sort();

  await t.step(`no file breaks a rule it is not allowed to break (${files.length} files)`, async () => {
    assert.ok(files.length > 50, `only ${files.length} files found under lib/`);
    const broken: string[] = [];
    for (const file of files) {
      const allowed = ALLOWED[file]?.rules ?? [];
      for (const { rule, text } of violations(file, await Deno.readTextFile(join(ROOT, file)))) {
        if (!allowed.includes(rule)) broken.push(`${file}: ${rule} (${text})`);
      }
    }
    assert.deepEqual(broken, []);
  });

  await t.step("every allowed exception still exists and still needs its allowance", async () => {
    for (const [file, { rules }] of Object.entries(ALLOWED)) {
      const found = new Set(violations(file, await Deno.readTextFile(join(ROOT, file))).map((v) => v.rule));
      for (const rule of rules) assert.ok(found.has(rule), `${file} no longer needs "${rule}": drop the allowance`);
    }
  });
});
