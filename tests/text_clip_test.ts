import assert from "node:assert/strict";
import { clipMiddle, clipText } from "../lib/text_clip.ts";

Deno.test("clipText: a head and a marker saying how much was cut", async (t) => {
  await t.step("text that fits comes back as it is", () => {
    assert.equal(clipText("abc", 3), "abc");
    assert.equal(clipText("", 0), "");
  });
  await t.step("the default marker counts the characters cut", () => {
    assert.equal(clipText("abcdefghij", 4), "abcd...[6 more characters]");
  });
  await t.step("a given marker replaces it", () => {
    assert.equal(clipText("abcdefghij", 4, "..."), "abcd...");
    assert.equal(clipText("abcdefghij", 4, ""), "abcd");
  });
  await t.step("a surrogate pair is never split", () => {
    const text = "ab😀cd"; // 😀 is two UTF-16 units at 2..3
    assert.equal(clipText(text, 3), "ab...[4 more characters]");
    assert.equal(clipText(text, 4, ""), "ab😀");
    assert.ok(!/[\ud800-\udfff]$/.test(clipText(text, 3, "")));
  });
});

Deno.test("clipMiddle: head and tail with a marker between", async (t) => {
  await t.step("text that fits comes back as it is", () => {
    assert.equal(clipMiddle("abcdef", 6), "abcdef");
  });
  await t.step("the marker says how many of how many characters were removed, and the note", () => {
    assert.equal(
      clipMiddle("a".repeat(10) + "b".repeat(10), 8),
      "aaaa\n...[truncated: 12 of 20 characters removed]...\nbbbb",
    );
    assert.equal(
      clipMiddle("x".repeat(20), 4, { note: "the full text is stored as blob:1" }),
      "xx\n...[truncated: 16 of 20 characters removed; the full text is stored as blob:1]...\nxx",
    );
  });
  await t.step("a given marker replaces the default one", () => {
    const marker = (removed: number, length: number) => `<${removed}/${length}>`;
    assert.equal(clipMiddle("abcdefghij", 4, { marker }), "ab<6/10>ij");
  });
  await t.step("neither cut splits a surrogate pair", () => {
    const text = "a😀" + "-".repeat(10) + "😀b"; // 16 units
    const clipped = clipMiddle(text, 4);
    assert.equal(clipped, "a\n...[truncated: 14 of 16 characters removed]...\nb");
    assert.doesNotMatch(clipped, /[\ud800-\udfff]/);
  });
});

Deno.test("the clips in lib/ go through text_clip: observations, code lines, web pages, blob refs", async () => {
  const { truncateContent } = await import("../lib/agents/observations.ts");
  assert.equal(
    truncateContent("a".repeat(10) + "b".repeat(10), 8),
    "aaaa\n..._This content has been truncated to stay below 8 characters (12 characters removed)_...\nbbbb",
  );
  assert.equal(truncateContent("short", 8), "short");
  // visit_webpage's own marker (smolagents' wording), and no lone surrogate half at the cut.
  const { truncateWebContent } = await import("../lib/tools/web/visit_webpage_tool.ts");
  const note = (limit: number) => `\n..._This content has been truncated to stay below ${limit} characters_...\n`;
  assert.equal(truncateWebContent("abcdef", 6), "abcdef");
  assert.equal(truncateWebContent("abcdefgh", 4), "abcd" + note(4));
  assert.equal(truncateWebContent("ab😀cd", 3), "ab" + note(3));
  const { parseBlobRef } = await import("../lib/stores/blob_ref.ts");
  assert.throws(
    () => parseBlobRef("x".repeat(100)),
    (error: Error) => error.message.includes("...[20 more characters]"),
  );
});
