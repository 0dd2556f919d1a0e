/** Printed output of one step, capped at a number of characters; what is cut is counted and noted at the end. */
export class CapturedOutput {
  #parts: string[] = [];
  #length = 0;
  #omitted = 0;

  constructor(readonly cap: number) {}

  write(text: string): void {
    const room = this.cap - this.#length;
    if (text.length <= room) {
      this.#parts.push(text);
      this.#length += text.length;
      return;
    }
    if (room > 0) this.#parts.push(text.slice(0, room));
    this.#length += Math.max(0, room);
    this.#omitted += text.length - Math.max(0, room);
  }

  get text(): string {
    const text = this.#parts.join("");
    if (!this.#omitted) return text;
    return `${text}\n[Output truncated: ${this.#omitted} more characters were not shown (limit ${this.cap})]`;
  }
}
