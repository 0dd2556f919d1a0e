import { SmolstepError } from "./errors.ts";

/**
 * Bounds on JSON from outside: request bodies, webhook payloads, tool-call arguments written by a model. Deep nesting
 * is the danger: `JSON.parse` copes with it, but every recursive walk afterwards (`JSON.stringify` of a run record,
 * `structuredClone`, schema checks) overflows the stack, which would be a 500 and, in a step, a run that cannot move.
 */
export interface JsonLimits {
  /** Arrays and objects nested deeper than this are refused (`{"a":1}` has depth 1). */
  maxDepth: number;
  /** Array items plus object members over the whole document. */
  maxEntries: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxEntries: 100_000 };

/** JSON refused by `parseJsonWithin`: malformed (`invalid_json`), too deep, or too many entries. */
export class JsonLimitError extends SmolstepError {
  override name = "JsonLimitError";
  declare readonly code: "invalid_json" | "json_too_deep" | "json_too_large";
  constructor(code: "invalid_json" | "json_too_deep" | "json_too_large", message: string) {
    super(message, { code });
  }
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, SPACE = 0x20;
const OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d;

const tooDeep = (maxDepth: number) =>
  new JsonLimitError("json_too_deep", `JSON nested deeper than ${maxDepth} levels is refused.`);
const tooLarge = (maxEntries: number) =>
  new JsonLimitError("json_too_large", `JSON with more than ${maxEntries} array items and members is refused.`);

/** Index of the quote closing the string whose first character is at `from` (text.length if none). */
function stringEnd(text: string, from: number): number {
  for (let quote = text.indexOf('"', from); quote >= 0; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return text.length;
}

/**
 * Parses JSON text within `limits`, or throws a `JsonLimitError`. The limits are checked by one linear scan of the
 * text before `JSON.parse` sees it, so a refused document costs no parsing and no allocation.
 */
export function parseJsonWithin(text: string, limits: Partial<JsonLimits> = {}): unknown {
  const { maxDepth, maxEntries } = { ...DEFAULT_JSON_LIMITS, ...limits };
  let [depth, entries, justOpened] = [0, 0, false];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char <= SPACE) continue; // whitespace (other control characters are JSON.parse's to refuse)
    // The first entry of a container has no comma before it: count it when something other than the close follows.
    if (justOpened && char !== CLOSE_ARRAY && char !== CLOSE_OBJECT) entries++;
    justOpened = false;
    if (char === QUOTE) i = stringEnd(text, i + 1);
    else if (char === OPEN_ARRAY || char === OPEN_OBJECT) {
      if (++depth > maxDepth) throw tooDeep(maxDepth);
      justOpened = true;
    } else if (char === CLOSE_ARRAY || char === CLOSE_OBJECT) {
      if (--depth < 0) break; // unbalanced: JSON.parse names the problem
    } else if (char === COMMA && ++entries > maxEntries) throw tooLarge(maxEntries);
  }
  if (entries > maxEntries) throw tooLarge(maxEntries);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new JsonLimitError("invalid_json", `Malformed JSON: ${(error as Error).message}`);
  }
}

/** Whether arrays and objects in `value` (already parsed) nest deeper than `maxDepth`; walks without recursion. */
export function nestsDeeperThan(value: unknown, maxDepth: number = DEFAULT_JSON_LIMITS.maxDepth): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
