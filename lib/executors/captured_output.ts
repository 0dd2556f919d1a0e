import { clipText } from "../text_clip.ts";

/**
 * Printed output of one step, capped at a number of characters (cut by `clipText`, never inside a surrogate pair);
 * what is cut is counted and noted at the end. Once something was cut, nothing later is kept.
 */
export class CapturedOutput {
  #parts: string[] = [];
  #length = 0;
  #omitted = 0;

  constructor(readonly cap: number) {}

  write(text: string): void {
    const kept = this.#omitted ? "" : clipText(text, this.cap - this.#length, "");
    this.#parts.push(kept);
    this.#length += kept.length;
    this.#omitted += text.length - kept.length;
  }

  get text(): string {
    const text = this.#parts.join("");
    if (!this.#omitted) return text;
    return `${text}\n[Output truncated: ${this.#omitted} more characters were not shown (limit ${this.cap})]`;
  }
}
