/** A one-line spinner for a terminal: drawn in place with `\r`, erased before anything else is written. */

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export class Spinner {
  #timer: ReturnType<typeof setInterval> | undefined;
  #frame = 0;

  constructor(
    readonly write: (text: string) => void,
    readonly style: (frame: string) => string = (frame) => frame,
    readonly intervalMs = 80,
  ) {}

  get spinning(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts (or keeps) spinning with `label`. */
  start(label: string): void {
    if (this.#timer !== undefined) return;
    const draw = () => this.write(`\r\x1b[2K${this.style(FRAMES[this.#frame++ % FRAMES.length])} ${label}`);
    draw();
    this.#timer = setInterval(draw, this.intervalMs);
  }

  /** Stops and erases the line; nothing happens when it was not spinning. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.write("\r\x1b[2K");
  }
}
