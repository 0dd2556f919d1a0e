import { AgentParsingError } from "../errors.ts";

/** Opening and closing tags of a code block in the model's reply (default `<code>`, `</code>`). */
export type CodeBlockTags = readonly [open: string, close: string];

export const DEFAULT_CODE_BLOCK_TAGS: CodeBlockTags = Object.freeze(["<code>", "</code>"] as const);

const FENCED = /```(?:js|javascript|ts|typescript|jsx|tsx|mjs)?[ \t]*\n([\s\S]*?)```/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Extracts the code of a reply: every `<code>...</code>` block (or the configured tags), else every fenced
 * js/javascript/ts block, joined by a blank line. A reply cut at the closing tag (it is a stop sequence) still
 * counts: an unclosed final block runs to the end. Throws `AgentParsingError` showing the expected format.
 */
export function parseCodeBlobs(text: string, tags: CodeBlockTags = DEFAULT_CODE_BLOCK_TAGS): string {
  const code = codeBlocks(text, tags);
  if (code !== null) return code;
  throw noCodeError(text, tags);
}

/**
 * The code of a reply as smolagents' `parse_code_blobs` takes it: the blocks, else the whole reply, which may be
 * code written without tags or fences. `untagged` says it was the latter: the agent runs it, and when it does not
 * compile (nothing ran), reports `noCodeError` instead, as smolagents does when `ast.parse` fails.
 */
export function parseCodeAction(text: string, tags: CodeBlockTags = DEFAULT_CODE_BLOCK_TAGS): {
  code: string;
  untagged: boolean;
} {
  const code = codeBlocks(text, tags);
  if (code !== null) return { code, untagged: false };
  if (text.trim() === "" || text.includes(tags[0])) throw noCodeError(text, tags);
  return { code: text.trim(), untagged: true };
}

function codeBlocks(text: string, [open, close]: CodeBlockTags): string | null {
  const tagged = new RegExp(`${escapeRegExp(open)}([\\s\\S]*?)(?:${escapeRegExp(close)}|$)`, "g");
  let blocks = [...text.matchAll(tagged)].map((match) => match[1]);
  if (blocks.length === 0) blocks = [...text.matchAll(FENCED)].map((match) => match[1]);
  blocks = blocks.map((block) => block.replace(/^\s*\n|\s+$/g, "")).filter((block) => block.trim() !== "");
  return blocks.length > 0 ? blocks.join("\n\n") : null;
}

/** A reply without code: the expected format, and the final_answer hint when the reply looks like an answer. */
export function noCodeError(text: string, [open, close]: CodeBlockTags): AgentParsingError {
  const looksLikeAnswer = /final[\s_]*answer/i.test(text) || !/[;(){}=]/.test(text);
  return new AgentParsingError(
    [
      "Your reply has no code block, so nothing was run.",
      `Here is your reply:\n${text}`,
      `Write your thought, then the code between ${open} and ${close}, like this:`,
      `Thought: what I will do and why.\n${open}\nconst result = await some_tool({ argument: "value" });\nconsole.log(result);\n${close}`,
      ...(looksLikeAnswer
        ? [
          `If you meant to give the final answer, do it in code:\n${open}\nfinal_answer("YOUR FINAL ANSWER");\n${close}`,
        ]
        : []),
    ].join("\n"),
  );
}
