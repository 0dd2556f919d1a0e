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

/** What goes between head and tail, given how many characters were cut out of how many. */
export type ClipMarker = (removed: number, length: number) => string;

/**
 * Head and tail of `text` (`maxChars / 2` characters each) with a visible marker in between saying what was cut,
 * by default `\n...[truncated: R of L characters removed; <note>]...\n`; `text` itself when it is at most
 * `maxChars` long.
 */
export function clipMiddle(
  text: string,
  maxChars: number,
  options: { note?: string; marker?: ClipMarker } = {},
): string {
  if (text.length <= maxChars) return text;
  const half = Math.floor(maxChars / 2);
  const headEnd = cutAt(text, half);
  const tailStart = text.length - half + (cutAt(text, text.length - half) === text.length - half ? 0 : 1);
  const where = options.note ? `; ${options.note}` : "";
  const marker = options.marker ??
    ((removed, length) => `\n...[truncated: ${removed} of ${length} characters removed${where}]...\n`);
  return text.slice(0, headEnd) + marker(tailStart - headEnd, text.length) + text.slice(tailStart);
}
