/**
 * zod is imported as a namespace (`import * as z from "zod"`) in `lib/` and `functions/`: esbuild (wrangler's bundler)
 * shakes a namespace import down to what is used, but not `import { z } from "zod"`, which kept all of zod's locales
 * in the Workers bundle (65 KiB gzip of 585; tests/e2e/bundle_budget_test.ts).
 */
import assert from "node:assert/strict";

async function* sources(dir: URL): AsyncGenerator<[string, string]> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sources(url);
    else if (entry.name.endsWith(".ts")) yield [url.pathname, await Deno.readTextFile(url)];
  }
}

Deno.test("lib/ and functions/ import zod as a namespace, never `import { z }`", async () => {
  const offenders: string[] = [];
  for (const dir of ["lib/", "functions/"]) {
    for await (const [path, text] of sources(new URL(`../../${dir}`, import.meta.url))) {
      if (/^import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*["']zod["']/m.test(text)) offenders.push(path);
    }
  }
  assert.deepEqual(offenders, [], 'use `import * as z from "zod"` (see this file\'s comment)');
});
