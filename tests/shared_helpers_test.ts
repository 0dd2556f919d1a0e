/**
 * One of each (issue 11): base64 is encoded and decoded only in lib/base64.ts, and the token count has one type,
 * `TokenUsage` in lib/models/chat_message.ts; no file of lib/ spells either out again.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { assertCheckWorks, findingsUnder, stripComments } from "./support/source_text.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Each helper, the one file allowed to have it, and what having it looks like in code. */
const HELPERS = [
  {
    what: "base64 encoding or decoding",
    home: "lib/base64.ts",
    pattern:
      /\b(?:btoa|atob)\s*\(|\.toBase64\b|\bfromBase64\b|\.toString\(\s*["']base64|,\s*["']base64(?:url)?["']\s*\)/g,
  },
  { what: "a token-usage type", home: "lib/models/chat_message.ts", pattern: /\binputTokens\??\s*:\s*number\b/g },
];

function findings(source: string): string[] {
  const code = stripComments(source);
  return HELPERS.flatMap(({ what, pattern }) => [...code.matchAll(pattern)].map((match) => `${what}: ${match[0]}`));
}

Deno.test("one base64 module and one token-usage type in lib/", async (t) => {
  await t.step("the check finds each, and ignores comments and mere mentions", () => {
    const bad = [
      "const text = btoa(binary);",
      "const bytes = Uint8Array.fromBase64(text);",
      'const text = Buffer.from(bytes).toString("base64");',
      'const bytes = Buffer.from(text, "base64");',
      "function count(usage: { inputTokens: number; outputTokens: number }) {}",
      "interface Usage { inputTokens?: number }",
    ];
    const good = [
      "// btoa(binary)",
      'const isBase64 = param === "base64";',
      "const total = usage.inputTokens + usage.outputTokens;",
      "const usage: TokenUsage = { inputTokens: 1, outputTokens: 2 };",
    ];
    assertCheckWorks(findings, bad, good);
  });

  await t.step("no file of lib/ but their home has them", async () => {
    const home = (file: string, finding: string) => HELPERS.some((h) => h.home === file && finding.startsWith(h.what));
    assert.deepEqual(await findingsUnder(ROOT, "lib", findings, home), []);
  });
});
