/**
 * `.dev.vars.example` (what `deno task dev:worker` reads once copied to `.dev.vars`): it names only variables the
 * entries read, the two a Worker needs to answer at all among them, and `.dev.vars` itself stays out of git.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

Deno.test(".dev.vars.example names what the Workers entry reads; .dev.vars is git-ignored", async () => {
  const example = await Deno.readTextFile(new URL(".dev.vars.example", ROOT));
  const names = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
  assert.ok(names.includes("OPENAI_API_KEY") && names.includes("SMOLSTEP_SECRET"), names.join(", "));
  let entries = "";
  for await (const entry of Deno.readDir(new URL("functions/", ROOT))) {
    if (entry.name.endsWith(".ts")) entries += await Deno.readTextFile(new URL(`functions/${entry.name}`, ROOT));
  }
  const unread = names.filter((name) => !new RegExp(`\\benv\\.${name}\\b|["']${name}["']`).test(entries));
  assert.deepEqual(unread, [], "named in .dev.vars.example but read by no entry");
  const ignored = (await Deno.readTextFile(new URL(".gitignore", ROOT))).split("\n").map((line) => line.trim());
  assert.ok(ignored.includes(".dev.vars"));
});
