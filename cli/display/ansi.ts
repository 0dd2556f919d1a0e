/** ANSI styles, or none: `palette(false)` returns every style as the identity, so callers never test for colour. */

export type Style = (text: string) => string;

export interface Palette {
  enabled: boolean;
  bold: Style;
  dim: Style;
  red: Style;
  green: Style;
  yellow: Style;
  blue: Style;
  magenta: Style;
  cyan: Style;
}

const sgr = (open: number, close: number): Style => (text) => text ? `\x1b[${open}m${text}\x1b[${close}m` : text;

export function palette(enabled: boolean): Palette {
  const style = (open: number, close: number) => enabled ? sgr(open, close) : (text: string) => text;
  return {
    enabled,
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    blue: style(34, 39),
    magenta: style(35, 39),
    cyan: style(36, 39),
  };
}

/** Colours on a terminal, unless NO_COLOR is set to anything but the empty string (no-color.org). */
export function colorWanted(isTerminal: boolean, env: Record<string, string | undefined>): boolean {
  return isTerminal && !env.NO_COLOR;
}

/** Removes ANSI escape sequences (tests, widths). */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}
