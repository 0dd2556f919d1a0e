import * as z from "zod";
import { type Tool, tool } from "./tool.ts";

/**
 * Evaluates arithmetic without `eval` (forbidden on Workers, and unsafe): a small recursive-descent parser over
 * numbers, + - * / % ^ (right-associative power), parentheses, unary minus, the constants pi and e, and the
 * functions sqrt, abs, round, floor, ceil, ln, log10, sin, cos, tan, min, max.
 */
const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  sqrt: Math.sqrt,
  abs: Math.abs,
  round: Math.round,
  floor: Math.floor,
  ceil: Math.ceil,
  ln: Math.log,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  min: Math.min,
  max: Math.max,
};
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

export function evaluateExpression(source: string): number {
  const tokens = source.match(/\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+|[A-Za-z_]\w*|\*\*|[-+*/%^(),]|\S/g) ?? [];
  let position = 0;
  const peek = () => tokens[position];
  const take = (expected?: string) => {
    const token = tokens[position++];
    if (expected !== undefined && token !== expected) {
      throw new Error(`expected '${expected}' but found ${token === undefined ? "the end" : `'${token}'`}`);
    }
    return token;
  };

  const primary = (): number => {
    const token = take();
    if (token === undefined) throw new Error("unexpected end of expression");
    if (token === "(") {
      const value = sum();
      take(")");
      return value;
    }
    if (token === "-") return -power();
    if (token === "+") return power();
    if (/^(\d|\.\d)/.test(token)) return Number(token);
    const name = token.toLowerCase();
    if (Object.hasOwn(CONSTANTS, name)) return CONSTANTS[name];
    if (Object.hasOwn(FUNCTIONS, name)) {
      take("(");
      const args = [sum()];
      while (peek() === ",") {
        take(",");
        args.push(sum());
      }
      take(")");
      return FUNCTIONS[name](...args);
    }
    throw new Error(`unknown symbol '${token}'`);
  };
  const power = (): number => {
    const base = primary();
    if (peek() === "^" || peek() === "**") {
      take();
      return base ** power();
    }
    return base;
  };
  const product = (): number => {
    let value = power();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = take();
      const right = power();
      value = op === "*" ? value * right : op === "/" ? value / right : value % right;
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (peek() === "+" || peek() === "-") value = take() === "+" ? value + product() : value - product();
    return value;
  };

  const value = sum();
  if (position < tokens.length) throw new Error(`unexpected '${tokens[position]}'`);
  if (!Number.isFinite(value)) throw new Error("the result is not a finite number");
  return value;
}

/** The `calculator` tool: exact arithmetic the model should not do in its head. */
export const calculatorTool: Tool<{ expression: string }, number> = tool({
  name: "calculator",
  description:
    "Evaluates an arithmetic expression and returns the number. Supports + - * / % ^, parentheses, pi, e, and sqrt, abs, round, floor, ceil, ln, log10, sin, cos, tan, min, max.",
  inputs: z.object({ expression: z.string().describe("The expression, e.g. '(2 + 3) * 4 ^ 2'") }),
  output: "number",
  run: ({ expression }) => {
    try {
      return evaluateExpression(expression);
    } catch (error) {
      throw new Error(`Cannot evaluate '${expression}': ${(error as Error).message}`);
    }
  },
});
