/**
 * Source of the sandbox prelude: a function evaluated inside QuickJS before the step's code. Called with the host
 * bridge functions (which take and return strings only), a JSON config and the sources of the lazily compiled
 * bounds kits (sandbox_bounds.ts), it installs the sandbox API as locked globals (tools, `final_answer`, `print`,
 * `console`, timers), bounds the natively looping builtins, keeps the bridge functions in its closure, and returns
 * the functions the host drives the step with (restore, finish, snapshot, timers).
 */

import { POSITIONAL_KEY } from "./executor.ts";
import { BOUNDS_SOURCE } from "./sandbox_bounds.ts";
import { FORMAT_SOURCE } from "./sandbox_format.ts";
import { MATH_MODULE_SOURCE } from "./sandbox_modules.ts";

/** File name the step's code is evaluated under; error lines are read from stack frames in this file. */
export const CODE_FILE = "code.js";
/** Key of the import bindings inside persisted variables. */
export const IMPORTS_KEY = "@imports";

/** Configuration handed to the prelude (as JSON). */
export interface PreludeConfig {
  tools: string[];
  modules: Record<string, { functions: string[]; values: Record<string, unknown> }>;
  authorized: string[];
  outputCap: number;
}

export const PRELUDE_SOURCE = String
  .raw`(function (hostPrint, hostTool, hostCall, hostFinal, hostWork, configJson, stringsKitSource, rareKitSource) {
  "use strict";
  const G = globalThis, O = Object, M = Math, isArray = Array.isArray;
  const ArrayProto = Array.prototype, ObjectProto = O.prototype;
  const { stringify, parse } = JSON;
  const PromiseCtor = Promise, promiseThen = Promise.prototype.then;
  const ErrorCtor = Error, TypeErr = TypeError;
  const geval = eval; // indirect eval sees global bindings, including top-level let/const of the step
  // The prelude's own string work calls the builtins directly (the bounds wrap them, lazily: see sandbox_bounds.ts).
  const { includes: strIncludes, replace: strReplace } = String.prototype;
  const now = Date.now;
  const config = parse(configJson);
  const TAG = "\u0000bytes", IMPORTS = ${JSON.stringify(IMPORTS_KEY)}, POSITIONAL = ${JSON.stringify(POSITIONAL_KEY)};
  const IDENT = /^[A-Za-z_$][\w$]*$/;
  const LINE = /\bcode\.js:(\d+)/;
  const MATH_SOURCE = ${JSON.stringify(MATH_MODULE_SOURCE)}; // compiled only when imported
${FORMAT_SOURCE}
${BOUNDS_SOURCE}
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", B64_CODES = [];
  for (let i = 0; i < 64; i++) B64_CODES[B64.charCodeAt(i)] = i;
  function toB64(b) {
    let s = "";
    for (let i = 0; i < b.length; i += 3) {
      const n = (b[i] << 16) | ((b[i + 1] || 0) << 8) | (b[i + 2] || 0);
      s += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < b.length ? B64[n & 63] : "=");
    }
    return s;
  }
  function fromB64(s) {
    s = apply(strReplace, s, [/=+$/, ""]);
    const out = new Uint8Array(M.floor(s.length * 3 / 4));
    let acc = 0, bits = 0, j = 0;
    for (let i = 0; i < s.length; i++) {
      acc = (acc << 6) | B64_CODES[s.charCodeAt(i)]; bits += 6;
      if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 255; }
    }
    return out.subarray(0, j);
  }
  function replacer(k, v) {
    if (v instanceof Uint8Array) return { [TAG]: toB64(v) };
    if (typeof v === "function" || typeof v === "symbol") throw new TypeErr("cannot pass " + format(v) + " out of the sandbox: only JSON data and Uint8Array");
    if (typeof v === "bigint") throw new TypeErr("cannot pass a BigInt out of the sandbox: convert it with Number() or String()");
    if (v instanceof Map || v instanceof Set) throw new TypeErr("cannot pass a Map or Set out of the sandbox: convert it to an object or array");
    return v;
  }
  function reviver(k, v) {
    if (v && typeof v === "object" && !isArray(v) && typeof v[TAG] === "string" && O.keys(v).length === 1) return fromB64(v[TAG]);
    return v;
  }
  const encode = (v) => stringify({ v }, replacer);
  // The reviver and replacer cost a call per value: use them only when bytes are (or may be) present.
  const parseData = (json) => (apply(strIncludes, json, ["\\u0000bytes"]) ? parse(json, reviver) : parse(json));
  let sawBytes = false;
  function unwrap(envelope, label, site) {
    const r = parseData(envelope);
    if (r.ok) return r.v;
    const e = new ErrorCtor(label + " failed: " + r.error);
    e.name = "ToolError";
    if (site) O.defineProperty(e, "stack", { value: site.stack, writable: true, configurable: true });
    throw e;
  }
  function lock(name, value) {
    O.defineProperty(G, name, {
      get: () => value,
      set() { throw new TypeErr(name + " is provided by the sandbox and cannot be reassigned"); },
      enumerable: false, configurable: false,
    });
  }
  const named = (name, fn) => O.defineProperty(fn, "name", { value: name });

  const print = named("print", function (...args) {
    let text = "";
    for (let i = 0; i < args.length; i++) text += (i ? " " : "") + format(args[i]);
    hostPrint(text + "\n");
  });
  const calls = [];
  function makeTool(name) {
    // One argument: an object of named arguments, or (as in smolagents) the bare value of a tool's only input.
    // Several: positional arguments, which the host maps to the tool's inputs in declared order. The host checks
    // them against the tool's inputs.
    return named(name, function (args) {
      let payload = args === undefined ? {} : args;
      if (arguments.length > 1) {
        const values = [];
        for (let i = 0; i < arguments.length; i++) values[i] = arguments[i];
        payload = { [POSITIONAL]: values };
      }
      const site = new ErrorCtor("call site");
      const record = { name, used: false };
      const p = promiseThen.call(hostTool(name, encode(payload)), (r) => unwrap(r, name, site));
      O.defineProperty(p, "constructor", { get() { record.used = true; return PromiseCtor; }, configurable: true });
      O.defineProperty(p, "then", {
        value: named("then", function (a, b) { record.used = true; return promiseThen.call(p, a, b); }),
        configurable: true, writable: true,
      });
      calls.push(record);
      return p;
    });
  }
  const final_answer = named("final_answer", function (value) {
    if (value instanceof PromiseCtor) throw new TypeErr("final_answer received a Promise: write final_answer(await ...)");
    let payload;
    try { payload = encode(value); } catch { payload = encode(format(value)); }
    hostFinal(payload);
    for (;;) {} // the host interrupts here (uncatchably): nothing after final_answer runs
  });

  const timers = new Map();
  let timerSeq = 0;
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== "function") throw new TypeErr("timer callback must be a function");
    const delay = M.max(repeat ? 1 : 0, +ms || 0), id = ++timerSeq;
    timers.set(id, { fn, args, delay, due: now() + delay, repeat });
    return id;
  }
  const clearTimer = (id) => { timers.delete(id); };

  const moduleCache = new Map();
  function hostModule(name, spec) {
    const m = {};
    for (const fn of spec.functions) {
      const label = name + "." + fn;
      m[fn] = named(fn, function (...args) {
        const r = hostCall(name, fn, encode(args));
        return typeof r === "string" ? unwrap(r, label) : promiseThen.call(r, (x) => unwrap(x, label));
      });
    }
    return O.freeze(O.assign(m, spec.values));
  }
  function getModule(name) {
    if (!config.authorized.includes(name)) {
      throw new ErrorCtor("Import of module '" + name + "' is not allowed. Authorized imports: " + (config.authorized.join(", ") || "none"));
    }
    if (!moduleCache.has(name)) moduleCache.set(name, name === "math" ? geval(MATH_SOURCE) : hostModule(name, config.modules[name]));
    return moduleCache.get(name);
  }
  const importValue = (ref) => (ref[1] === "*" || ref[1] === "default" ? getModule(ref[0]) : getModule(ref[0])[ref[1]]);

  lock("final_answer", final_answer);
  lock("print", print);
  lock("console", O.freeze({ log: print, info: print, warn: print, error: print, debug: print, dir: print, table: print, trace: print }));
  lock("setTimeout", named("setTimeout", (fn, ms, ...args) => addTimer(fn, ms, args, false)));
  lock("setInterval", named("setInterval", (fn, ms, ...args) => addTimer(fn, ms, args, true)));
  lock("clearTimeout", named("clearTimeout", clearTimer));
  lock("clearInterval", named("clearInterval", clearTimer));
  O.defineProperty(G, Symbol.for("smolstep.module"), { value: getModule });
  for (const name of config.tools) {
    if (O.hasOwn(G, name)) throw new TypeErr("tool name '" + name + "' is taken by a global of the sandbox");
    lock(name, makeTool(name));
  }
  const baseline = new Set(O.getOwnPropertyNames(G));

  function plain(v, depth, path) {
    if (v === null || typeof v === "string" || typeof v === "boolean") return true;
    if (typeof v === "number") return isFinite(v);
    if (typeof v !== "object" || depth > 100 || isProxy(v) || path.includes(v)) return false;
    if (isArray(v) && v.length > LIMIT) return false; // serializing its holes would run natively for too long
    if (v instanceof Uint8Array) return (sawBytes = true);
    const proto = O.getPrototypeOf(v);
    if (proto !== (isArray(v) ? ArrayProto : ObjectProto) && !(proto === null && !isArray(v))) return false;
    path.push(v);
    const keys = O.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const x = v[keys[i]];
      if (x !== undefined && !plain(x, depth + 1, path)) return false;
    }
    path.pop();
    return true;
  }
  function describeError(e) {
    try {
      if (e instanceof ErrorCtor) {
        const m = LINE.exec(String(e.stack || ""));
        const line = m ? +m[1] : e.fileName === "code.js" && typeof e.lineNumber === "number" ? e.lineNumber : undefined;
        return { name: String(e.name || "Error"), message: String(e.message), line };
      }
      return { name: "Error", message: "Uncaught " + format(e, false) };
    } catch {
      return { name: "Error", message: "Uncaught exception" };
    }
  }
  function describeOutput(v) {
    if (v === undefined) return {};
    try {
      if (plain(v, 0, [])) {
        const json = stringify(v, replacer);
        if (json.length <= config.outputCap) return { json };
      }
    } catch {}
    const text = format(v);
    // One character past the cap tells the host it was longer; the host clips it (lib/text_clip.ts).
    return { text: text.slice(0, config.outputCap + 1) };
  }

  return {
    describe: (e) => stringify(describeError(e)),
    async finish(p) {
      try {
        let v = (await p).value;
        if (v instanceof PromiseCtor) v = await v; // a tool call left un-awaited on the last line still works
        return stringify({ ok: true, output: describeOutput(v) });
      } catch (e) {
        return stringify({ ok: false, error: describeError(e) });
      }
    },
    restore(json) {
      const vars = parseData(json), skipped = [];
      for (const name of O.keys(vars)) {
        if (name === IMPORTS) continue;
        if (!IDENT.test(name) || name === "__proto__" || baseline.has(name)) { skipped.push(name); continue; }
        O.defineProperty(G, name, { value: vars[name], writable: true, enumerable: true, configurable: true });
      }
      const imports = vars[IMPORTS] && typeof vars[IMPORTS] === "object" ? vars[IMPORTS] : {};
      for (const local of O.keys(imports)) {
        if (!IDENT.test(local) || baseline.has(local)) continue;
        try {
          O.defineProperty(G, local, { value: importValue(imports[local]), writable: true, configurable: true });
        } catch {}
      }
      return stringify(skipped);
    },
    snapshot(json) {
      const { candidates, imports } = parse(json);
      const variables = {}, dropped = [], kept = O.create(null);
      for (const local of O.keys(imports)) {
        try {
          const v = geval(local), ref = imports[local];
          const namespace = ref[1] === "*" && v !== null && typeof v === "object" && v[Symbol.toStringTag] === "Module";
          if (namespace || v === importValue(ref)) kept[local] = ref;
        } catch {}
      }
      const names = new Set(candidates);
      for (const n of O.getOwnPropertyNames(G)) if (!baseline.has(n)) names.add(n);
      for (const n of names) {
        if (n in kept || baseline.has(n) || !IDENT.test(n) || n === "__proto__") continue;
        let v;
        try { v = geval(n); } catch { continue; } // not declared, or declaration never reached
        if (v !== undefined && plain(v, 0, [])) variables[n] = v;
        else dropped.push(n);
      }
      if (O.keys(kept).length) variables[IMPORTS] = kept;
      return sawBytes ? stringify({ variables, dropped }, replacer) : stringify({ variables, dropped });
    },
    unconsumed: () => stringify(calls.filter((c) => !c.used).map((c) => c.name)),
    nextTimer() {
      let due = -1;
      for (const t of timers.values()) if (due < 0 || t.due < due) due = t.due;
      return String(due < 0 ? -1 : M.max(0, due - now()));
    },
    fireTimers() {
      const t0 = now();
      const due = [...timers].filter((e) => e[1].due <= t0).sort((a, b) => a[1].due - b[1].due || a[0] - b[0]);
      for (const [id, t] of due) {
        if (!timers.has(id)) continue;
        if (t.repeat) t.due += t.delay;
        else timers.delete(id);
        try { t.fn(...t.args); } catch (e) { print("Uncaught error in timer callback:", e); }
      }
    },
  };
})`;
