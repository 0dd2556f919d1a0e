import { utf8Length } from "../stores/store_limit_error.ts";

/**
 * Caps on the sandbox variables a CodeAgent keeps in the run state between steps. The state is one store record
 * (720,000 bytes on Deno KV), so a variable holding a large download would make every later commit fail; instead
 * it is dropped, and the model is told so in the step's observation (as for functions and class instances).
 */

/** Default cap on one variable: UTF-8 bytes of its JSON. */
export const DEFAULT_MAX_VARIABLE_BYTES = 100_000;
/** Default cap on all kept variables together (UTF-8 bytes of their JSON). */
export const DEFAULT_MAX_VARIABLES_BYTES = 250_000;

export interface VariableCaps {
  maxVariableBytes: number;
  maxVariablesBytes: number;
}

export interface CappedVariables {
  variables: Record<string, unknown>;
  /** Dropped for size, largest first, with their size in bytes. */
  tooLarge: Array<{ name: string; bytes: number }>;
}

/**
 * Keeps the variables that fit: each at most `maxVariableBytes`, together at most `maxVariablesBytes` (the largest
 * go first). A variable equal to the additional argument of the same name is not kept: every step restores it from
 * the run's additional arguments, so keeping it would store it twice.
 */
export function capVariables(
  variables: Record<string, unknown>,
  additionalArgs: Record<string, unknown>,
  caps: VariableCaps,
): CappedVariables {
  const sized: Array<{ name: string; value: unknown; bytes: number }> = [];
  for (const [name, value] of Object.entries(variables)) {
    const json = JSON.stringify(value) ?? "null";
    if (Object.hasOwn(additionalArgs, name) && JSON.stringify(additionalArgs[name]) === json) continue;
    sized.push({ name, value, bytes: utf8Length(json) + utf8Length(name) });
  }
  sized.sort((a, b) => a.bytes - b.bytes);
  const kept: Record<string, unknown> = {};
  const tooLarge: CappedVariables["tooLarge"] = [];
  let total = 0;
  for (const entry of sized) {
    if (entry.bytes <= caps.maxVariableBytes && total + entry.bytes <= caps.maxVariablesBytes) {
      kept[entry.name] = entry.value;
      total += entry.bytes;
    } else tooLarge.push({ name: entry.name, bytes: entry.bytes });
  }
  // Keep the original order for the sandbox (and for readers of the state).
  const variablesInOrder = Object.fromEntries(
    Object.keys(variables).filter((n) => Object.hasOwn(kept, n)).map((n) => [n, kept[n]]),
  );
  return { variables: variablesInOrder, tooLarge: tooLarge.reverse() };
}

/** The note the model reads about variables dropped for size. */
export function tooLargeNote(tooLarge: CappedVariables["tooLarge"], caps: VariableCaps): string {
  const list = tooLarge.map(({ name, bytes }) => `${name} (${bytes} bytes)`).join(", ");
  return `Note: these variables are too large to keep for the next steps (at most ${caps.maxVariableBytes} bytes ` +
    `of JSON each, ${caps.maxVariablesBytes} in all) and were dropped: ${list}. Keep only what you need (a summary, ` +
    "a slice) in variables.";
}
