/** Formatting of tool results for the model and for the (JSON) run state. */

import { clipMiddle } from "../text_clip.ts";

/** Cuts the middle out of long text, keeping its head and tail and saying how much was dropped. */
export function truncateContent(text: string, maxChars: number): string {
  // smolagents' marker (`truncate_content`), with how many characters were cut.
  const marker = (removed: number) =>
    `\n..._This content has been truncated to stay below ${maxChars} characters (${removed} characters removed)_...\n`;
  return clipMiddle(text, maxChars, { marker });
}

/** A tool result as observation text: strings as they are, everything else as JSON where possible. */
export function stringifyObservation(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "None";
  if (
    typeof value === "object" && value !== null && typeof value.toString === "function" &&
    value.toString !== Object.prototype.toString && !Array.isArray(value)
  ) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A value the run state can hold: itself when it survives JSON, else its string form. */
export function toJsonValue(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : JSON.parse(json);
  } catch {
    return String(value);
  }
}
