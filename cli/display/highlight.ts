/**
 * A small JavaScript highlighter for the code a CodeAgent runs: comments, strings and template literals, numbers,
 * keywords, literals and called functions, each in one colour. One pass of a sticky regular expression; anything it
 * does not know is left as it is, so the text read without colours is the code unchanged.
 */
import type { Palette } from "./ansi.ts";

const KEYWORDS = new Set(
  ("await async break case catch class const continue default delete do else export extends finally for from " +
    "function if import in instanceof let new of return static switch throw try typeof var void while yield")
    .split(" "),
);
const LITERALS = new Set(["true", "false", "null", "undefined", "NaN", "Infinity", "this"]);

const TOKEN = new RegExp(
  [
    String.raw`(?<comment>\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))`,
    String.raw`(?<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|` + "`(?:[^`\\\\]|\\\\[\\s\\S])*`?)",
    String.raw`(?<number>\b(?:0[xX][\da-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?n?)\b)`,
    String.raw`(?<word>[A-Za-z_$][\w$]*)(?<call>\s*\()?`,
  ].join("|"),
  "y",
);

export function highlightJs(code: string, colors: Palette): string {
  if (!colors.enabled) return code;
  let out = "";
  let index = 0;
  while (index < code.length) {
    TOKEN.lastIndex = index;
    const match = TOKEN.exec(code);
    if (!match) {
      out += code[index++];
      continue;
    }
    const groups = match.groups!;
    if (groups.comment !== undefined) out += colors.dim(groups.comment);
    else if (groups.string !== undefined) out += colors.green(groups.string);
    else if (groups.number !== undefined) out += colors.cyan(groups.number);
    else {
      const word = groups.word;
      const styled = KEYWORDS.has(word)
        ? colors.magenta(word)
        : LITERALS.has(word)
        ? colors.cyan(word)
        : groups.call !== undefined
        ? colors.blue(word)
        : word;
      out += styled + (groups.call ?? "");
    }
    index += match[0].length;
  }
  return out;
}
