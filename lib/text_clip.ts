/**
 * Shortening text for messages, prompts and stored states, in one place: a head with a marker saying how much was
 * cut (`clipText`), or a head and a tail with the marker between them (`clipMiddle`). Text that fits comes back as
 * it is. A cut never splits a UTF-16 surrogate pair (a lone half would be stored as U+FFFD by some stores).
 */

/** Where to cut `text` at about `index`: one earlier when that would split a surrogate pair. */
function cutAt(text: string, index: number): number {
  const code = text.charCodeAt(index - 1);
  return code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}

/**
 * The first `maxChars` characters of `text` followed by `marker`, by default `...[N more characters]`; `text` itself
 * when it is at most `maxChars` long.
 */
export function clipText(text: string, maxChars: number, marker?: string): string {
  if (text.length <= maxChars) return text;
  const end = cutAt(text, maxChars);
  return text.slice(0, end) + (marker ?? `...[${text.length - end} more characters]`);
}

/**
 * Head and tail of `text` (`maxChars / 2` characters each) with a visible marker in between saying what was cut:
 * `...[truncated: R of L characters removed; <note>]...`; `text` itself when it is at most `maxChars` long.
 */
export function clipMiddle(text: string, maxChars: number, note?: string): string {
  if (text.length <= maxChars) return text;
  const half = Math.floor(maxChars / 2);
  const headEnd = cutAt(text, half);
  const tailStart = text.length - half + (cutAt(text, text.length - half) === text.length - half ? 0 : 1);
  const removed = tailStart - headEnd;
  const where = note ? `; ${note}` : "";
  return `${text.slice(0, headEnd)}\n...[truncated: ${removed} of ${text.length} characters removed${where}]...\n${
    text.slice(tailStart)
  }`;
}
