/**
 * Splits a page's HTML into well-formed pieces of bounded size and nesting, so the HTML-to-Markdown converter's
 * work stays linear in the page. `html-to-md` costs time quadratic in the number of elements it is given and in
 * their nesting (400 KB of `<p>` elements: 4 s; 4,000 nested `<div>`s in 44 KB: 5 s), all of it synchronous on the
 * host's event loop, so one hostile page the model visits could stall every request of the process for minutes.
 *
 * One linear scan, no backtracking regular expressions: a piece ends before a tag once it covers `chunkChars`
 * characters of the page (text is never cut); the elements open there are closed at its end and opened again (bare, without
 * attributes) at the start of the next piece. Elements nested deeper than `maxDepth` lose their tags, not their
 * text. Comments, declarations, and `script`, `style` and `template` elements are dropped (the converter drops
 * them too). Not an HTML parser: `p`, `li`, `dt`, `dd`, `tr`, `td`, `th` and `option` close an open one of their
 * kind, as browsers do, and a closing tag closes everything opened after its element.
 */

export interface HtmlChunkOptions {
  /** Characters of the page after which a piece ends at the next tag (default 16,384). */
  chunkChars?: number;
  /** Deepest element nesting kept; deeper tags are dropped, their text kept (default 32). */
  maxDepth?: number;
}

const VOID = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "source",
  "track",
  "wbr",
]);
const DROPPED = new Set(["script", "style", "template"]);
const SELF_CLOSING_SIBLINGS = new Set(["p", "li", "dt", "dd", "tr", "td", "th", "option"]);

/** The pieces of `html`, in order; each is well-formed as far as this scan knows. */
export function* htmlChunks(html: string, options: HtmlChunkOptions = {}): Generator<string> {
  const chunkChars = options.chunkChars ?? 16_384;
  const maxDepth = options.maxDepth ?? 32;
  const lower = html.toLowerCase();
  const stack: string[] = []; // open element names; only the first maxDepth were emitted
  const open = new Map<string, number>(); // how many of each name are on the stack
  let pieceText = "";
  let start = 0; // where the piece began in `html`
  const emit = (text: string) => {
    pieceText += text;
  };
  const pop = () => {
    const name = stack.pop()!;
    open.set(name, open.get(name)! - 1);
    if (stack.length < maxDepth) emit(`</${name}>`);
  };
  const kept = () => stack.slice(0, maxDepth);

  const cut = (at: number) => {
    const piece = pieceText + kept().reverse().map((name) => `</${name}>`).join("");
    pieceText = kept().map((name) => `<${name}>`).join("");
    start = at;
    return piece;
  };

  let pos = 0;
  while (pos < html.length) {
    const lt = html.indexOf("<", pos);
    if (lt === -1) {
      emit(html.slice(pos));
      break;
    }
    if (lt > pos) emit(html.slice(pos, lt));
    pos = lt + 1;
    const next = html[lt + 1] ?? "";
    if (!/[a-zA-Z/!?]/.test(next)) {
      emit("&lt;"); // not a tag: text, as browsers read it
      continue;
    }
    if (lower.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      pos = end === -1 ? html.length : end + 3;
      continue;
    }
    const end = html.indexOf(">", lt);
    if (end === -1) break; // a tag the page never ends: browsers drop it too
    const tag = html.slice(lt, end + 1);
    pos = end + 1;
    if (next === "!" || next === "?") continue;
    const closing = next === "/";
    const name = /^[a-z][^\s/>]*/.exec(lower.slice(lt + (closing ? 2 : 1), Math.min(end, lt + 64)))?.[0];
    if (!name) continue;
    if (closing) {
      if (!open.get(name)) continue; // a stray closing tag
      while (stack[stack.length - 1] !== name) pop();
      pop();
      continue;
    }
    if (DROPPED.has(name)) {
      const close = lower.indexOf(`</${name}`, pos);
      const closeEnd = close === -1 ? -1 : html.indexOf(">", close);
      pos = closeEnd === -1 ? html.length : closeEnd + 1;
      continue;
    }
    if (SELF_CLOSING_SIBLINGS.has(name) && stack[stack.length - 1] === name) pop();
    if (lt - start >= chunkChars) yield cut(lt); // pieces end before an opening tag, never before a closing one
    if (VOID.has(name) || tag.endsWith("/>")) {
      if (stack.length < maxDepth) emit(tag);
      continue;
    }
    if (stack.length < maxDepth) emit(tag);
    stack.push(name);
    open.set(name, (open.get(name) ?? 0) + 1);
  }
  while (stack.length > 0) pop();
  if (pieceText) yield pieceText;
}
