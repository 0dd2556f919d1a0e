/**
 * Top-level analysis of a code step: the names bound by top-level `let` / `const` / `var` / `class` / `function`
 * declarations (including destructuring patterns), and `import` declarations rewritten into `await import(...)`
 * so the step can run as a script (where `let`/`const` stay reachable after the run) with top-level `await`.
 * Rewrites keep every statement on its original line, so error line numbers match the model's code.
 */

import { type Token, tokenize } from "./code_scan.ts";

/** One imported binding: `local` is bound to `module`'s export `name`, or to the whole module when `name` is "*". */
export interface ImportBinding {
  local: string;
  module: string;
  name: string;
}

export interface TopLevelScan {
  /** The code to evaluate (import declarations rewritten). */
  code: string;
  /** Names declared at the top level (import bindings excluded). */
  declared: string[];
  imports: ImportBinding[];
}

const OPEN = new Set(["(", "[", "{"]);
const CLOSE = new Set([")", "]", "}"]);

/** Scans `source` for top-level declarations and rewrites its import declarations. */
export function scanTopLevel(source: string): TopLevelScan {
  const tokens = tokenize(source);
  const declared = new Set<string>();
  const imports: ImportBinding[] = [];
  const edits: { start: number; end: number; text: string }[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "punct" && OPEN.has(t.text)) depth++;
    else if (t.kind === "punct" && CLOSE.has(t.text)) depth = Math.max(0, depth - 1);
    if (depth !== 0 || t.kind !== "name" || !statementStart(tokens, i)) continue;
    const next = tokens[i + 1];
    if (t.text === "const" || t.text === "var" || (t.text === "let" && startsBinding(next))) {
      i = declarators(tokens, i + 1, declared) - 1;
    } else if (t.text === "class" && next?.kind === "name") {
      declared.add(next.text);
    } else if (t.text === "function" || (t.text === "async" && next?.text === "function" && !next.newlineBefore)) {
      let j = t.text === "async" ? i + 2 : i + 1;
      if (tokens[j]?.text === "*") j++;
      if (tokens[j]?.kind === "name") declared.add(tokens[j].text);
    } else if (t.text === "import" && next && next.text !== "(" && next.text !== ".") {
      const parsed = importDeclaration(tokens, i);
      if (!parsed) continue;
      imports.push(...parsed.bindings);
      const span = source.slice(t.start, tokens[parsed.next - 1].end);
      const lines = span.split("\n").length - 1;
      edits.push({ start: t.start, end: tokens[parsed.next - 1].end, text: parsed.text + "\n".repeat(lines) });
      i = parsed.next - 1;
    }
  }
  let code = source;
  for (const e of edits.reverse()) code = code.slice(0, e.start) + e.text + code.slice(e.end);
  for (const b of imports) declared.delete(b.local);
  return { code, declared: [...declared], imports };
}

/** Whether token `i` (at depth 0) begins a statement: first token, after `;` or `}`, or after a line break. */
function statementStart(tokens: Token[], i: number): boolean {
  const prev = tokens[i - 1];
  if (!prev) return true;
  if (prev.kind === "punct" && (prev.text === ";" || prev.text === "}")) return true;
  if (!tokens[i].newlineBefore) return false;
  // A line break ends the statement unless the previous token leaves an expression open (`=`, `+`, `,` ...).
  return prev.kind !== "punct" || [")", "]", "++", "--"].includes(prev.text);
}

function startsBinding(t: Token | undefined): boolean {
  if (!t) return false;
  if (t.kind === "name") return t.text !== "in" && t.text !== "instanceof" && t.text !== "of";
  return t.text === "[" || t.text === "{";
}

/** Reads `a = 1, [b, {c}] = x ...` from `i`; returns the index after the declaration. */
function declarators(tokens: Token[], i: number, out: Set<string>): number {
  for (;;) {
    i = bindingTarget(tokens, i, out);
    if (tokens[i]?.text === "=") i = skipExpression(tokens, i + 1, [","], true);
    if (tokens[i]?.text !== ",") return i;
    i++;
  }
}

/** Collects the names bound by an identifier, array pattern or object pattern starting at `i`. */
function bindingTarget(tokens: Token[], i: number, out: Set<string>): number {
  const t = tokens[i];
  if (!t) return i;
  if (t.kind === "name") {
    out.add(t.text);
    return i + 1;
  }
  if (t.text !== "[" && t.text !== "{") return i;
  const close = t.text === "[" ? "]" : "}";
  const isArray = t.text === "[";
  i++;
  while (i < tokens.length && tokens[i].text !== close) {
    if (tokens[i].text === ",") {
      i++;
      continue;
    }
    if (tokens[i].text === "...") i = bindingTarget(tokens, i + 1, out);
    else if (isArray) i = bindingTarget(tokens, i, out);
    else {
      const key = tokens[i];
      i = key.text === "[" ? skipExpression(tokens, i + 1, ["]"], false) + 1 : i + 1;
      if (tokens[i]?.text === ":") i = bindingTarget(tokens, i + 1, out);
      else if (key.kind === "name") out.add(key.text);
    }
    if (tokens[i]?.text === "=") i = skipExpression(tokens, i + 1, [",", close], false);
    if (tokens[i]?.text !== "," && tokens[i]?.text !== close) return skipExpression(tokens, i, [close], false) + 1;
  }
  return i + 1;
}

/**
 * Skips an expression: stops at one of `stops` (or `;`) at the starting nesting level, at an unmatched closer,
 * or, with `asi`, where a line break ends the statement.
 */
function skipExpression(tokens: Token[], i: number, stops: string[], asi: boolean): number {
  let depth = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "punct") {
      if (depth === 0 && (stops.includes(t.text) || t.text === ";")) return i;
      if (OPEN.has(t.text)) depth++;
      else if (CLOSE.has(t.text)) {
        if (depth === 0) return i;
        depth--;
      }
    }
    if (asi && depth === 0 && t.newlineBefore && i > 0 && endsExpression(tokens[i - 1]) && beginsStatement(t)) return i;
  }
  return i;
}

function endsExpression(t: Token): boolean {
  return t.kind !== "punct" || t.text === ")" || t.text === "]" || t.text === "}";
}

function beginsStatement(t: Token): boolean {
  if (t.kind === "name") return t.text !== "in" && t.text !== "instanceof" && t.text !== "of";
  return t.kind === "string" || t.kind === "number" || t.text === "{" || t.text === "++" || t.text === "--";
}

interface ParsedImport {
  bindings: ImportBinding[];
  text: string;
  next: number;
}

/** Parses an import declaration at `i`; `undefined` when it does not look like one (the engine will complain). */
function importDeclaration(tokens: Token[], i: number): ParsedImport | undefined {
  let j = i + 1;
  const named: [string, string][] = [];
  let namespace: string | undefined;
  if (tokens[j]?.kind !== "string") {
    if (tokens[j]?.kind === "name" && tokens[j].text !== "from") {
      named.push(["default", tokens[j].text]);
      j++;
      if (tokens[j]?.text === ",") j++;
    }
    if (tokens[j]?.text === "*") {
      if (tokens[j + 1]?.text !== "as" || tokens[j + 2]?.kind !== "name") return undefined;
      namespace = tokens[j + 2].text;
      j += 3;
    } else if (tokens[j]?.text === "{") {
      j++;
      while (tokens[j] && tokens[j].text !== "}") {
        const imported = tokens[j];
        if (imported.kind !== "name" && imported.kind !== "string") return undefined;
        const name = imported.kind === "string" ? imported.text.slice(1, -1) : imported.text;
        let local = name;
        j++;
        if (tokens[j]?.text === "as") {
          if (tokens[j + 1]?.kind !== "name") return undefined;
          local = tokens[j + 1].text;
          j += 2;
        }
        named.push([name, local]);
        if (tokens[j]?.text === ",") j++;
      }
      j++;
    }
    if (tokens[j]?.text !== "from") return undefined;
    j++;
  }
  const spec = tokens[j];
  if (spec?.kind !== "string") return undefined;
  const module = spec.text.slice(1, -1);
  j++;
  if ((tokens[j]?.text === "with" || tokens[j]?.text === "assert") && tokens[j + 1]?.text === "{") {
    j = skipExpression(tokens, j + 2, ["}"], false) + 1;
  }
  if (tokens[j]?.text === ";") j++;
  const load = `await import(${JSON.stringify(module)})`;
  const bindings: ImportBinding[] = named.map(([name, local]) => ({ local, module, name }));
  const parts: string[] = [];
  if (namespace) {
    bindings.push({ local: namespace, module, name: "*" });
    parts.push(`const ${namespace} = ${load};`);
  }
  if (named.length) {
    const pattern = named.map(([name, local]) => `${JSON.stringify(name)}: ${local}`).join(", ");
    parts.push(`const { ${pattern} } = ${namespace ?? load};`);
  }
  return { bindings, text: parts.length ? parts.join(" ") : `${load};`, next: j };
}
