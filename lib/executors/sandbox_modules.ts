/**
 * Modules the sandboxed code may `import`: the built-in "math" helpers (pure JavaScript evaluated inside the
 * sandbox) and host modules registered by the deployer (plain objects of functions and JSON values; their
 * functions run on the host, called through the JSON value bridge).
 */

import { ConfigurationError } from "../errors.ts";

/** A host module: functions (sync or async, positional JSON arguments, JSON result) and plain JSON values. */
export type SandboxModule = Record<string, unknown>;

/** What the sandbox needs to build a host module's stand-in: function names and the JSON values. */
export interface HostModuleSpec {
  functions: string[];
  values: Record<string, unknown>;
}

/** Names of the modules built into the sandbox. */
export const BUILTIN_MODULES = ["math"] as const;

const MATH_HELPERS = [
  "sum",
  "prod",
  "mean",
  "median",
  "mode",
  "variance",
  "pvariance",
  "stdev",
  "pstdev",
  "min",
  "max",
  "round",
  "clamp",
  "gcd",
  "lcm",
  "factorial",
  "comb",
  "perm",
  "isPrime",
  "range",
  "isclose",
];
const MATH_CONSTANTS = ["E", "LN10", "LN2", "LOG10E", "LOG2E", "PI", "SQRT1_2", "SQRT2"];
const MATH_NATIVE = [
  "abs",
  "acos",
  "acosh",
  "asin",
  "asinh",
  "atan",
  "atan2",
  "atanh",
  "cbrt",
  "ceil",
  "clz32",
  "cos",
  "cosh",
  "exp",
  "expm1",
  "floor",
  "fround",
  "hypot",
  "imul",
  "log",
  "log10",
  "log1p",
  "log2",
  "pow",
  "random",
  "sign",
  "sin",
  "sinh",
  "sqrt",
  "tan",
  "tanh",
  "trunc",
];

/** Every export of the built-in "math" module (besides `default`, the module object itself). */
export const MATH_EXPORTS: readonly string[] = [
  ...MATH_HELPERS,
  ...MATH_CONSTANTS,
  ...MATH_NATIVE,
  "inf",
  "nan",
  "tau",
];

/**
 * Source of an expression evaluating (inside the sandbox) to the "math" module object: Python-flavoured helpers
 * (statistics + math) over arrays of numbers, plus everything `Math` has.
 */
export const MATH_MODULE_SOURCE = `(() => {
  const M = Math;
  const nums = (xs, fn) => {
    if (!Array.isArray(xs)) throw new TypeError(fn + " expects an array of numbers");
    for (const x of xs) if (typeof x !== "number") throw new TypeError(fn + " expects numbers, got " + typeof x);
    return xs;
  };
  const nonEmpty = (xs, fn) => { if (nums(xs, fn).length === 0) throw new RangeError(fn + " of an empty array"); return xs; };
  const spread = (args, fn) => nonEmpty(args.length === 1 && Array.isArray(args[0]) ? args[0] : args, fn);
  const int = (n, fn) => { if (!Number.isInteger(n)) throw new TypeError(fn + " expects integers"); return n; };
  const sum = (xs) => { let s = 0, c = 0; for (const x of nums(xs, "sum")) { const y = x - c, t = s + y; c = (t - s) - y; s = t; } return s; };
  const mean = (xs) => sum(nonEmpty(xs, "mean")) / xs.length;
  const ss = (xs, fn) => { const m = mean(nonEmpty(xs, fn)); let s = 0; for (const x of xs) s += (x - m) ** 2; return s; };
  const variance = (xs) => { if (nums(xs, "variance").length < 2) throw new RangeError("variance needs at least two values"); return ss(xs, "variance") / (xs.length - 1); };
  const pvariance = (xs) => ss(xs, "pvariance") / xs.length;
  const gcd2 = (a, b) => { a = M.abs(int(a, "gcd")); b = M.abs(int(b, "gcd")); while (b) [a, b] = [b, a % b]; return a; };
  const factorial = (n) => { if (int(n, "factorial") < 0) throw new RangeError("factorial of a negative number"); let r = 1; for (let i = 2; i <= n; i++) r *= i; return r; };
  const perm = (n, k = n) => { int(n, "perm"); int(k, "perm"); if (k < 0 || n < 0) throw new RangeError("perm of negative numbers"); if (k > n) return 0; let r = 1; for (let i = n - k + 1; i <= n; i++) r *= i; return r; };
  const comb = (n, k) => { int(n, "comb"); int(k, "comb"); if (k < 0 || n < 0) throw new RangeError("comb of negative numbers"); if (k > n) return 0; k = M.min(k, n - k); let r = 1; for (let i = 1; i <= k; i++) r = r * (n - k + i) / i; return M.round(r); };
  const helpers = {
    sum, mean, variance, pvariance, factorial, perm, comb,
    prod: (xs) => nums(xs, "prod").reduce((a, b) => a * b, 1),
    median: (xs) => { const s = [...nonEmpty(xs, "median")].sort((a, b) => a - b), h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; },
    mode: (xs) => { if (!Array.isArray(xs) || !xs.length) throw new RangeError("mode of an empty array"); const n = new Map(); let best = xs[0]; for (const x of xs) { n.set(x, (n.get(x) || 0) + 1); if (n.get(x) > n.get(best)) best = x; } return best; },
    stdev: (xs) => M.sqrt(variance(xs)),
    pstdev: (xs) => M.sqrt(pvariance(xs)),
    min: (...args) => M.min(...spread(args, "min")),
    max: (...args) => M.max(...spread(args, "max")),
    round: (x, digits = 0) => { const f = 10 ** int(digits, "round"); return M.round((x + Number.EPSILON * M.sign(x)) * f) / f; },
    clamp: (x, lo, hi) => M.min(M.max(x, lo), hi),
    gcd: (...args) => args.length ? args.reduce(gcd2) : 0,
    lcm: (...args) => args.reduce((a, b) => (a && b ? M.abs(a * b) / gcd2(a, b) : 0), 1),
    isPrime: (n) => { if (!Number.isInteger(n) || n < 2) return false; for (let i = 2; i * i <= n; i++) if (n % i === 0) return false; return true; },
    range: (start, stop, step = 1) => { if (stop === undefined) [start, stop] = [0, start]; if (!step) throw new RangeError("range step must not be 0"); const out = []; for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i); return out; },
    isclose: (a, b, relTol = 1e-9, absTol = 0) => M.abs(a - b) <= M.max(relTol * M.max(M.abs(a), M.abs(b)), absTol),
    inf: Infinity, nan: NaN, tau: 2 * M.PI,
  };
  const module = {};
  for (const k of Object.getOwnPropertyNames(M)) module[k] = M[k];
  return Object.freeze(Object.assign(module, helpers));
})()`;

/** The ES module source the sandbox's module loader serves for an authorized module. */
export function moduleLoaderSource(name: string, exports: readonly string[]): string {
  const names = exports.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "default");
  const lines = [
    `const m = globalThis[Symbol.for("smolstep.module")](${JSON.stringify(name)});`,
    "export default m;",
  ];
  if (names.length) lines.push(`export const { ${names.join(", ")} } = m;`);
  return lines.join("\n");
}

/** Splits a host module into the spec the sandbox needs; its values must be JSON data. */
export function hostModuleSpec(name: string, module: SandboxModule): HostModuleSpec {
  const spec: HostModuleSpec = { functions: [], values: {} };
  for (const [key, value] of Object.entries(module)) {
    if (typeof value === "function") spec.functions.push(key);
    else {
      try {
        spec.values[key] = JSON.parse(JSON.stringify(value ?? null));
      } catch {
        throw new ConfigurationError(`Module "${name}": "${key}" must be a function or JSON data`);
      }
    }
  }
  return spec;
}

/** The exports of a module (built-in or host) as the module loader needs them. */
export function moduleExports(name: string, modules: Record<string, SandboxModule>): string[] {
  if (name === "math") return [...MATH_EXPORTS];
  return Object.keys(modules[name] ?? {});
}
