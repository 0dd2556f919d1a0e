/**
 * Which names a tool (or a managed agent called like one) may have: smolagents' `is_valid_name` (an identifier that
 * is not a keyword), with JavaScript's reserved words added to Python's keywords, since CodeAgent code calls tools
 * by name (`return(...)` or `class(...)` would not parse) and a name must mean the same in both kinds of agent.
 */

/** Python's `keyword.kwlist`. */
const PYTHON_KEYWORDS = (
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield"
).split(" ");

/** JavaScript's reserved words (ECMAScript, strict mode included) and the literals `null`, `true`, `false`. */
const JS_RESERVED = (
  "await break case catch class const continue debugger default delete do else enum export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield"
).split(" ");

const RESERVED = new Set([...PYTHON_KEYWORDS, ...JS_RESERVED]);

/** smolagents' `is_valid_name`: an identifier (ASCII letters, digits, `_`, not starting with a digit), not reserved. */
export function isValidName(name: unknown): boolean {
  return typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name);
}

/** Why `name` is refused, for error messages. */
export function invalidNameReason(name: string): string {
  return RESERVED.has(name)
    ? `'${name}' is a reserved word (Python keyword or JavaScript reserved word)`
    : `'${name}' must be a valid identifier (letters, digits and underscores, not starting with a digit)`;
}
