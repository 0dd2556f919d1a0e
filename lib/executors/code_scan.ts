/**
 * A small JavaScript tokenizer for model-written code: just enough to find top-level statements (declared names,
 * `import` declarations) without a parser dependency. It never throws: on input it cannot make sense of, it
 * returns what it has and leaves the real diagnosis to the engine.
 */

export type TokenKind = "name" | "punct" | "string" | "template" | "regex" | "number";

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  /** A line terminator (or a comment spanning one) separates this token from the previous one. */
  newlineBefore: boolean;
}

const PUNCTUATORS = [
  ">>>=",
  "...",
  "===",
  "!==",
  "**=",
  "<<=",
  ">>=",
  ">>>",
  "&&=",
  "||=",
  "??=",
  "=>",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "<<",
  ">>",
  "**",
];

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORDS = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

const NUMBER = /(?:0[xXoObB][\da-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?)/y;
const NAME = /[#A-Za-z_$\u0080-\uffff\\][\w$\u0080-\uffff\\]*/y;

/** Splits `source` into tokens, skipping comments and whitespace. */
export function tokenize(source: string): Token[] {
  const scanner = new Scanner(source);
  scanner.scan(false);
  return scanner.tokens;
}

class Scanner {
  readonly tokens: Token[] = [];
  pos = 0;
  constructor(readonly src: string) {
    if (src.startsWith("#!")) this.pos = this.lineEnd(0);
  }

  /** Scans tokens; with `untilBrace`, stops after the `}` that closes a template substitution. */
  scan(untilBrace: boolean): void {
    const src = this.src;
    let newline = false;
    let depth = 0;
    while (this.pos < src.length) {
      const ch = src[this.pos];
      const next = src[this.pos + 1];
      if (ch === "\n" || ch === "\r" || ch === "\u2028" || ch === "\u2029") {
        newline = true;
        this.pos++;
      } else if (/\s/.test(ch)) {
        this.pos++;
      } else if (ch === "/" && next === "/") {
        this.pos = this.lineEnd(this.pos);
      } else if (ch === "/" && next === "*") {
        const end = src.indexOf("*/", this.pos + 2);
        const stop = end < 0 ? src.length : end + 2;
        if (/[\n\r\u2028\u2029]/.test(src.slice(this.pos, stop))) newline = true;
        this.pos = stop;
      } else {
        if (untilBrace && ch === "}" && depth === 0) {
          this.pos++;
          return;
        }
        if (ch === "{") depth++;
        if (ch === "}") depth--;
        this.token(newline);
        newline = false;
      }
    }
  }

  private token(newlineBefore: boolean): void {
    const { src } = this;
    const start = this.pos;
    const ch = src[start];
    let kind: TokenKind;
    if (ch === '"' || ch === "'") {
      kind = "string";
      this.pos = this.quoted(start, ch);
    } else if (ch === "`") {
      kind = "template";
      this.template();
    } else if (/\d/.test(ch) || (ch === "." && /\d/.test(src[start + 1] ?? ""))) {
      kind = "number";
      this.pos = this.sticky(NUMBER, start) ?? start + 1;
    } else if (ch === "/" && this.regexAllowed()) {
      kind = "regex";
      this.regex();
    } else {
      const end = this.sticky(NAME, start);
      if (end !== undefined) {
        kind = "name";
        this.pos = end;
      } else {
        kind = "punct";
        const p = PUNCTUATORS.find((op) => src.startsWith(op, start));
        this.pos = start + (p?.length ?? 1);
      }
    }
    this.tokens.push({ kind, text: src.slice(start, this.pos), start, end: this.pos, newlineBefore });
  }

  private sticky(re: RegExp, at: number): number | undefined {
    re.lastIndex = at;
    return re.test(this.src) ? re.lastIndex : undefined;
  }

  private lineEnd(from: number): number {
    const m = /[\n\r\u2028\u2029]/g;
    m.lastIndex = from;
    return m.exec(this.src)?.index ?? this.src.length;
  }

  private quoted(start: number, quote: string): number {
    let i = start + 1;
    while (i < this.src.length) {
      const c = this.src[i];
      if (c === "\\") i += 2;
      else if (c === quote) return i + 1;
      else if (c === "\n") return i;
      else i++;
    }
    return i;
  }

  private template(): void {
    const { src } = this;
    this.pos++;
    while (this.pos < src.length) {
      const c = src[this.pos];
      if (c === "\\") this.pos += 2;
      else if (c === "`") {
        this.pos++;
        return;
      } else if (c === "$" && src[this.pos + 1] === "{") {
        this.pos += 2;
        // Substitutions are scanned (so braces and strings inside them nest correctly) but their tokens dropped.
        const inner = new Scanner(src);
        inner.pos = this.pos;
        inner.scan(true);
        this.pos = inner.pos;
      } else this.pos++;
    }
  }

  private regexAllowed(): boolean {
    const prev = this.tokens[this.tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "name") return REGEX_AFTER_WORDS.has(prev.text);
    if (prev.kind === "punct") return prev.text !== ")" && prev.text !== "]";
    return false;
  }

  private regex(): void {
    const { src } = this;
    let inClass = false;
    this.pos++;
    while (this.pos < src.length) {
      const c = src[this.pos];
      if (c === "\\") this.pos += 2;
      else if (c === "\n") return;
      else {
        this.pos++;
        if (c === "[") inClass = true;
        else if (c === "]") inClass = false;
        else if (c === "/" && !inClass) break;
      }
    }
    while (this.pos < src.length && /[\w$]/.test(src[this.pos])) this.pos++;
  }
}
