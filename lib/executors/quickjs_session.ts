/**
 * One step inside one QuickJS runtime: installs the prelude and the host bridge, evaluates the code, and drives it
 * (pending jobs, tool promises, timers) until it settles, calls `final_answer`, or hits a limit. Limits are
 * enforced by the interrupt handler: a wall-clock deadline plus a count of interrupt checks (the clock does not
 * move during synchronous execution on Cloudflare Workers, the count does). Both start when `run()` starts the
 * code: making the runtime, installing the prelude and restoring variables do not count against them.
 */

import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  QuickJSRuntime,
  QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { ConfigurationError } from "../errors.ts";
import type { SandboxTool } from "./executor.ts";
import { CapturedOutput } from "./captured_output.ts";
import { CODE_FILE, PRELUDE_SOURCE, type PreludeConfig } from "./sandbox_prelude.ts";
import { RARE_KIT_SOURCE, STRINGS_KIT_SOURCE } from "./sandbox_bounds.ts";
import { type HostModuleSpec, moduleExports, moduleLoaderSource, type SandboxModule } from "./sandbox_modules.ts";
import { ExecutionBudget, type SessionLimits, type StopReason } from "./execution_budget.ts";
import { decodeFromSandbox, errorMessage, failureEnvelope, resultEnvelope } from "./value_bridge.ts";

/** JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_ASYNC: a script (globals persist) that may use top-level `await`. */
const EVAL_SCRIPT_ASYNC = 1 << 7;

export interface SessionSetup {
  limits: SessionLimits;
  tools: Record<string, SandboxTool>;
  /** Host modules (only authorized ones are reachable) and what the sandbox needs to stand in for them. */
  modules: Record<string, SandboxModule>;
  moduleSpecs: Record<string, HostModuleSpec>;
  authorized: string[];
  signal?: AbortSignal;
  onPrint?: (text: string) => void;
  stopRequested?: () => boolean;
  /** Called when the code starts, after the time limit has started (the isolated executor tells the host). */
  onStart?: () => void;
}

/** What changes from one step to the next in a session prepared ahead (see `SandboxSession.bind`). */
export type StepBindings = Pick<
  SessionSetup,
  "tools" | "modules" | "signal" | "onPrint" | "stopRequested" | "onStart"
>;

/** How the step's code ended, as read from the sandbox (a JSON envelope) or decided by the host. */
export type CodeOutcome = { envelope: string } | { stopped: StopReason } | { stalled: true } | { compileError: string };

const API = ["describe", "finish", "restore", "snapshot", "unconsumed", "nextTimer", "fireTimers"] as const;

export class SandboxSession {
  readonly output: CapturedOutput;
  finalAnswer?: { value: unknown };
  #rt: QuickJSRuntime;
  #ctx: QuickJSContext;
  #api = new Map<string, QuickJSHandle>();
  #inflight = new Set<QuickJSDeferredPromise>();
  #abort = new AbortController();
  #budget: ExecutionBudget;
  #wake?: () => void;
  #closed = false;

  constructor(quickjs: QuickJSWASMModule, public setup: SessionSetup) {
    const { limits } = setup;
    this.output = new CapturedOutput(limits.maxOutputChars);
    this.#budget = new ExecutionBudget(limits, setup.signal, setup.stopRequested);
    this.#rt = quickjs.newRuntime();
    this.#rt.setMemoryLimit(limits.memoryLimitBytes);
    this.#rt.setMaxStackSize(limits.maxStackBytes);
    this.#rt.setModuleLoader((name) => {
      if (!setup.authorized.includes(name)) {
        const allowed = setup.authorized.join(", ") || "none";
        return { error: new Error(`Import of module '${name}' is not allowed. Authorized imports: ${allowed}`) };
      }
      return moduleLoaderSource(name, moduleExports(name, this.setup.modules));
    });
    this.#ctx = this.#rt.newContext();
  }

  /** Installs the sandbox API and restores persisted variables; returns the names that could not be restored. */
  install(variablesJson: string): string[] {
    this.installPrelude();
    return this.restore(variablesJson);
  }

  /**
   * Binds a session prepared ahead (prelude installed, no code run yet) to the step about to run: its tools and
   * modules, signal and hooks, and a fresh budget (whose time limit starts with the code, in `run()`).
   */
  bind(step: StepBindings): void {
    this.setup = { ...this.setup, ...step };
    this.#budget = new ExecutionBudget(this.setup.limits, step.signal, step.stopRequested);
  }

  /** Restores persisted variables; returns the names that could not be restored. */
  restore(variablesJson: string): string[] {
    return JSON.parse(this.callString("restore", variablesJson) ?? "[]");
  }

  /** Installs the sandbox API (the prelude): the most costly part of a small step, so it can be done ahead. */
  installPrelude(): void {
    const ctx = this.#ctx;
    const config: PreludeConfig = {
      tools: Object.keys(this.setup.tools).filter((name) => name !== "final_answer"),
      modules: this.setup.moduleSpecs,
      authorized: this.setup.authorized,
      outputCap: this.setup.limits.maxOutputChars,
    };
    const fns = [
      ctx.newFunction("print", (text) => void this.#print(text)),
      ctx.newFunction("callTool", (name, args) => this.#callTool(name, args)),
      ctx.newFunction("callModule", (module, fn, args) => this.#callModule(module, fn, args)),
      ctx.newFunction("finalAnswer", (value) => void this.#final(value)),
      ctx.newFunction("work", (elements) => this.#budget.chargeNative(ctx.getNumber(elements)) ? ctx.true : ctx.false),
      ctx.newString(JSON.stringify(config)),
      ctx.newString(STRINGS_KIT_SOURCE),
      ctx.newString(RARE_KIT_SOURCE),
    ];
    const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE_SOURCE, "prelude.js", { type: "global", strict: true }));
    const made = ctx.callFunction(factory, ctx.undefined, fns);
    if (made.error) {
      const message = ctx.dump(made.error)?.message;
      for (const h of [...fns, factory, made.error]) h.dispose();
      throw new ConfigurationError(`The sandbox could not be set up: ${message}`);
    }
    const api = made.value;
    for (const name of API) this.#api.set(name, ctx.getProp(api, name));
    for (const h of [...fns, factory, api]) h.dispose();
  }

  /** Evaluates the (already rewritten) code and drives it to its end, under the limits, which start now. */
  async run(code: string): Promise<CodeOutcome> {
    this.#budget.start();
    this.setup.onStart?.();
    this.#rt.setInterruptHandler(() => this.#budget.check());
    const evaluated = this.#ctx.evalCode(code, CODE_FILE, EVAL_SCRIPT_ASYNC);
    if (evaluated.error) {
      const described = this.callString("describe", evaluated.error);
      evaluated.error.dispose();
      return this.#budget.stop ? { stopped: this.#budget.stop } : { compileError: described ?? "{}" };
    }
    const finished = this.#call("finish", evaluated.value);
    evaluated.value.dispose();
    if (!finished) return { stopped: this.#budget.stop ?? "abort" };
    try {
      const stalled = await this.#drive(finished);
      if (this.#budget.stop) return { stopped: this.#budget.stop };
      if (stalled) return { stalled: true };
      const state = this.#ctx.getPromiseState(finished);
      if (state.type === "rejected") {
        // Describing the error failed too (typically: still out of memory): report what the engine threw.
        let message = "the code ended abnormally";
        try {
          message = String(this.#ctx.dump(state.error)?.message ?? message);
        } catch {
          // keep the generic message
        }
        state.error.dispose();
        return { envelope: JSON.stringify({ ok: false, error: { name: "InternalError", message } }) };
      }
      if (state.type === "pending") return { stalled: true };
      const envelope = this.#ctx.typeof(state.value) === "string" ? this.#ctx.getString(state.value) : "{}";
      if (!state.notAPromise) state.value.dispose();
      return { envelope };
    } finally {
      finished.dispose();
    }
  }

  /** Ends the step's own execution and grants a short budget to read results (snapshot, unconsumed calls). */
  enterGrace(): StopReason | undefined {
    this.#abort.abort();
    return this.#budget.grace();
  }

  /** Calls a prelude function with string or handle arguments; its string result, or undefined if it threw. */
  callString(name: (typeof API)[number], ...args: (string | QuickJSHandle)[]): string | undefined {
    const result = this.#call(name, ...args);
    if (!result) return undefined;
    const text = this.#ctx.typeof(result) === "string" ? this.#ctx.getString(result) : undefined;
    result.dispose();
    return text;
  }

  /** Releases the runtime. Late tool results are ignored from here on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    for (const d of this.#inflight) d.dispose();
    this.#inflight.clear();
    for (const h of this.#api.values()) h.dispose();
    this.#ctx.dispose();
    this.#rt.dispose();
  }

  #call(name: (typeof API)[number], ...args: (string | QuickJSHandle)[]): QuickJSHandle | undefined {
    const ctx = this.#ctx;
    const handles = args.map((a) => (typeof a === "string" ? ctx.newString(a) : a));
    const result = ctx.callFunction(this.#api.get(name)!, ctx.undefined, handles);
    handles.forEach((h, i) => typeof args[i] === "string" && h.dispose());
    if (result.error) {
      result.error.dispose();
      return undefined;
    }
    return result.value;
  }

  /** Runs pending jobs one at a time (so nothing runs after a stop); then waits for tools or timers. */
  async #drive(finished: QuickJSHandle): Promise<boolean> {
    for (;;) {
      while (!this.#budget.stop) {
        const ran = this.#rt.executePendingJobs(1);
        if (ran.error) ran.error.dispose();
        else if (ran.value === 0) break;
      }
      if (this.#budget.stop) return false;
      const done = this.#settled(finished);
      if (done && this.#inflight.size === 0) return false;
      const delay = done ? -1 : Number(this.callString("nextTimer") ?? -1);
      if (this.#budget.stop) return false;
      if (this.#inflight.size === 0 && delay < 0) return true;
      await this.#wait(delay);
      if (this.#budget.expired()) return false;
      if (!done && delay >= 0) this.callString("fireTimers");
    }
  }

  #settled(promise: QuickJSHandle): boolean {
    const state = this.#ctx.getPromiseState(promise);
    if (state.type === "pending") return false;
    if (state.type === "rejected") state.error.dispose();
    else if (!state.notAPromise) state.value.dispose();
    return true;
  }

  #wait(delayMs: number): Promise<void> {
    const remaining = this.#budget.remainingMs();
    const ms = delayMs < 0 ? remaining : Math.min(delayMs, remaining);
    const signal = this.setup.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done);
      this.#wake = done;
    });
  }

  #string(handle: QuickJSHandle): string {
    if (this.#ctx.typeof(handle) !== "string") throw new TypeError("expected a string");
    return this.#ctx.getString(handle);
  }

  /** True once the code may no longer act on the host (stopped, or results are being read). */
  get #over(): boolean {
    return this.#budget.stop !== undefined || this.#abort.signal.aborted;
  }

  #print(text: QuickJSHandle): void {
    if (this.#over) return;
    const printed = this.#string(text);
    this.output.write(printed);
    this.setup.onPrint?.(printed);
  }

  #final(value: QuickJSHandle): void {
    if (this.#over) return;
    this.finalAnswer = { value: decodeFromSandbox(this.#string(value)) };
    this.#budget.stop = "final";
  }

  #callTool(nameHandle: QuickJSHandle, argsHandle: QuickJSHandle): QuickJSHandle {
    const name = this.#string(nameHandle);
    const tool = Object.hasOwn(this.setup.tools, name) ? this.setup.tools[name] : undefined;
    if (this.#over || !tool) throw new Error(this.#over ? "the step is over" : `unknown tool ${name}`);
    const args = decodeFromSandbox(this.#string(argsHandle));
    return this.#defer(() => tool(args, { signal: this.#abort.signal }));
  }

  #callModule(moduleHandle: QuickJSHandle, fnHandle: QuickJSHandle, argsHandle: QuickJSHandle): QuickJSHandle {
    const [module, fn] = [this.#string(moduleHandle), this.#string(fnHandle)];
    const target = this.setup.authorized.includes(module) ? this.setup.modules[module] : undefined;
    const impl = target && Object.hasOwn(target, fn) ? target[fn] : undefined;
    if (this.#over || typeof impl !== "function") throw new Error(`${module}.${fn} is not available`);
    const args = decodeFromSandbox(this.#string(argsHandle));
    let result: unknown;
    try {
      result = impl(...(Array.isArray(args) ? args : []));
    } catch (error) {
      return this.#ctx.newString(failureEnvelope(errorMessage(error)));
    }
    if (!(result instanceof Promise)) return this.#ctx.newString(this.#fit(resultEnvelope(result)));
    return this.#defer(() => result);
  }

  /** Refuses results the sandbox could not hold (a UTF-8 copy of the text must fit in its memory). */
  #fit(envelope: string): string {
    if (envelope.length * 3 <= this.setup.limits.memoryLimitBytes) return envelope;
    return failureEnvelope(`its result is too large (${envelope.length} characters)`);
  }

  /** A sandbox promise resolved (with an envelope) when the host work settles. */
  #defer(work: () => unknown): QuickJSHandle {
    const deferred = this.#ctx.newPromise();
    this.#inflight.add(deferred);
    const settle = (envelope: string) => {
      if (this.#closed || !this.#inflight.delete(deferred)) return;
      try {
        if (!this.#over) {
          const text = this.#ctx.newString(this.#fit(envelope));
          deferred.resolve(text);
          text.dispose();
        }
        deferred.dispose();
      } catch {
        // The runtime refused (out of memory, broken): the step ends anyway, and the instance is discarded.
      }
      this.#wake?.();
    };
    Promise.resolve()
      .then(work)
      .then((value) => settle(resultEnvelope(value)), (error) => settle(failureEnvelope(errorMessage(error))))
      .catch(() => {});
    return deferred.handle;
  }
}
