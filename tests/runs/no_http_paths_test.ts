import assert from "node:assert/strict";

Deno.test("lib/runs names no HTTP route outside comments: the HTTP layer adds route hints to its errors", async () => {
  const dir = new URL("../../lib/runs/", import.meta.url);
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts")) continue;
    const lines = (await Deno.readTextFile(new URL(entry.name, dir))).split("\n");
    lines.forEach((line, i) => {
      const code = line.trim();
      if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) return;
      if (/\/v1\//.test(code)) found.push(`lib/runs/${entry.name}:${i + 1}: ${code}`);
    });
  }
  assert.deepEqual(found, []);
});
