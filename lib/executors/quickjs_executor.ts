/**
 * The CodeAgent's JavaScript sandbox: QuickJS compiled to WASM (sync variant), one fresh WASM instance with its
 * own fixed-size memory per step. The WASM module comes from the runtime's adapter, because runtimes load it
 * differently: in Deno / Node use `createDenoQuickJSExecutor()` from `lib/adapters/deno/quickjs_wasm_deno.ts` (it compiles the
 * packaged .wasm bytes); on Cloudflare Workers, see the recipe below.
 */

// Cloudflare Workers: no compiling WASM from bytes there, so the worker imports the .wasm file and wrangler's
// CompiledWasm rule hands it over as a WebAssembly.Module. The import path must end in ".wasm" (the package's
// "./wasm" export does not match the rule), so point at the file inside node_modules:
//
//   // worker entry
//   import quickjsWasm from "../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm";
//   import { QuickJSExecutor } from "../lib/executors/quickjs_executor.ts";
//   const executor = new QuickJSExecutor({ wasm: quickjsWasm, maxInterruptChecks: 40_000 });
//
//   # wrangler.toml
//   [[rules]]
//   type = "CompiledWasm"
//   globs = ["**/*.wasm"]
//   fallthrough = true
//
// Keep maxInterruptChecks below the plan's CPU limit: Date.now() does not advance during synchronous execution
// on Workers, so only that budget stops a tight loop. tests/support/workers/sandbox_harness.* is a working
// example, exercised by tests/executors/quickjs_workerd_test.ts.

import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import variantExport from "@jitl/quickjs-wasmfile-release-sync";
import { ConfigurationError } from "../errors.ts";
import type { CodeExecutionResult, CodeExecutor, ExecuteOptions, SandboxTool } from "./executor.ts";
import { BUILTIN_MODULES, type HostModuleSpec, hostModuleSpec, type SandboxModule } from "./sandbox_modules.ts";
import type { SessionLimits } from "./execution_budget.ts";
import { SandboxSession } from "./quickjs_session.ts";
import { scanTopLevel } from "./top_level.ts";
import { encodeJson } from "./value_bridge.ts";
import { buildResult, crashResult } from "./step_result.ts";

/** The QuickJS WASM module, or a loader for it (called once, on first use). */
export type QuickJSWasmSource = WebAssembly.Module | (() => Promise<WebAssembly.Module>);

export interface QuickJSExecutorOptions {
  wasm: QuickJSWasmSource;
  /**
   * Wall-clock limit on the step's code, including time spent awaiting tools. Default 30,000 ms. It starts when the
   * code starts: making the sandbox and restoring the variables do not count.
   */
  timeLimitMs?: number;
  /** Memory the step's code may use. Default 64 MiB (the WASM memory is capped at this plus 16 MiB of engine). */
  memoryLimitBytes?: number;
  /** QuickJS stack limit: deep recursion fails with a RangeError. Default 256 KiB (about 1,300 JS frames). */
  maxStackBytes?: number;
  /** Cap on captured print output, and on the printed form of the last output. Default 50,000 characters. */
  maxOutputChars?: number;
  /**
   * CPU budget independent of the clock, in QuickJS interrupt checks (one per ~10,000 branches or calls; a tight
   * loop makes 4,000 to 30,000 a second). It matters on Cloudflare Workers, where the clock stands still during
   * synchronous execution. When set, it is a hard budget everywhere. By default only checks at which the clock
   * has not moved count, up to `timeLimitMs * 4` of them: on Workers about the time limit's worth of a tight
   * loop; elsewhere the wall-clock limit decides.
   */
  maxInterruptChecks?: number;
  /** Modules the code may import. Default `["math"]`. Each must be built in or registered in `modules`. */
  authorizedImports?: string[];
  /** Host modules: plain objects of functions (positional JSON arguments, sync or async) and JSON values. */
  modules?: Record<string, SandboxModule>;
}

/** `ExecuteOptions` plus what a thread running the step needs to pass on. */
export interface QuickJSExecuteOptions extends ExecuteOptions {
  /** Sees each printed text as it is captured (the isolated executor streams it to the host). */
  onPrint?: (text: string) => void;
  /** Polled at every interrupt check: true stops the step as an abort would. */
  stopRequested?: () => boolean;
  /** Called once the sandbox is set up and the code starts, the time limit with it. */
  onStart?: () => void;
  /** A fresh instance made ahead (`instantiateQuickJS`), used when its memory limit matches; never reuse one. */
  instance?: QuickJSInstance;
  /**
   * A sandbox made ahead (`prepare`), used when it was made for the same tools and settings, else closed; never
   * reuse one. It saves a small step most of its cost: the instance and the prelude.
   */
  prepared?: PreparedSandbox;
}

/** A fresh sandbox for one coming step: an instance with the prelude installed and no code run yet. */
export interface PreparedSandbox {
  /** The tools and settings it was prepared for. */
  readonly key: string;
  readonly instance: QuickJSInstance;
  readonly session: SandboxSession;
}

/** A QuickJS WASM instance with its own memory, for exactly one step. */
export interface QuickJSInstance {
  memoryLimitBytes: number;
  memory: WebAssembly.Memory;
  quickjs: QuickJSWASMModule;
}

/** Instantiates QuickJS with a fresh memory capped for `memoryLimitBytes` of code heap (plus the engine's). */
export async function instantiateQuickJS(
  wasmModule: WebAssembly.Module,
  memoryLimitBytes: number,
): Promise<QuickJSInstance> {
  const memory = new WebAssembly.Memory({
    initial: ENGINE_PAGES,
    maximum: ENGINE_PAGES + Math.ceil(memoryLimitBytes / 65536),
  });
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, wasmMemory: memory }));
  return { memoryLimitBytes, memory, quickjs };
}

export const EXECUTOR_DEFAULTS = {
  timeLimitMs: 30_000,
  memoryLimitBytes: 64 * 1024 * 1024,
  maxStackBytes: 256 * 1024,
  maxOutputChars: 50_000,
  authorizedImports: ["math"],
} as const;

/** Pages (64 KiB) the engine needs besides the code's heap: its 16 MiB initial memory (data + 5 MiB C stack). */
const ENGINE_PAGES = 256;
/** The sync variant (its typings describe a CommonJS module: accept either shape of the default export). */
const variantImport = variantExport as unknown as QuickJSSyncVariant | { default: QuickJSSyncVariant };
const variant: QuickJSSyncVariant = "default" in variantImport ? variantImport.default : variantImport;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export class QuickJSExecutor implements CodeExecutor {
  readonly limits: SessionLimits;
  readonly authorizedImports: string[];
  readonly modules: Record<string, SandboxModule>;
  #moduleSpecs: Record<string, HostModuleSpec> = {};
  #wasm: QuickJSWasmSource;
  #module?: Promise<WebAssembly.Module>;

  constructor(options: QuickJSExecutorOptions) {
    const timeLimitMs = options.timeLimitMs ?? EXECUTOR_DEFAULTS.timeLimitMs;
    this.limits = {
      timeLimitMs,
      memoryLimitBytes: options.memoryLimitBytes ?? EXECUTOR_DEFAULTS.memoryLimitBytes,
      maxStackBytes: options.maxStackBytes ?? EXECUTOR_DEFAULTS.maxStackBytes,
      maxOutputChars: options.maxOutputChars ?? EXECUTOR_DEFAULTS.maxOutputChars,
      maxInterruptChecks: options.maxInterruptChecks,
    };
    this.modules = { ...options.modules };
    for (const name of BUILTIN_MODULES) {
      if (Object.hasOwn(this.modules, name)) throw new ConfigurationError(`Module "${name}" is built in`);
    }
    this.authorizedImports = [...(options.authorizedImports ?? EXECUTOR_DEFAULTS.authorizedImports)];
    for (const name of this.authorizedImports) {
      if (!(BUILTIN_MODULES as readonly string[]).includes(name) && !Object.hasOwn(this.modules, name)) {
        throw new ConfigurationError(`Authorized import "${name}" is neither built in nor registered in modules`);
      }
      if (Object.hasOwn(this.modules, name)) this.#moduleSpecs[name] = hostModuleSpec(name, this.modules[name]);
    }
    this.#wasm = options.wasm;
  }

  /**
   * Makes the sandbox of a coming step with these tools ahead of time (a fresh instance, the prelude installed),
   * for `execute(..., {prepared})`: what a thread does while it idles.
   */
  async prepare(toolNames: string[], instance?: QuickJSInstance): Promise<PreparedSandbox> {
    for (const name of toolNames) this.#checkToolName(name);
    instance ??= await this.#instantiate();
    const unbound: SandboxTool = () => {
      throw new Error("the sandbox is not bound to a step");
    };
    const session = new SandboxSession(instance.quickjs, {
      limits: this.limits,
      tools: Object.fromEntries(toolNames.map((name) => [name, unbound])),
      modules: this.modules,
      moduleSpecs: this.#moduleSpecs,
      authorized: this.authorizedImports,
    });
    try {
      session.installPrelude();
    } catch (error) {
      closeQuietly(session);
      throw error;
    }
    return { key: this.#sandboxKey(toolNames), instance, session };
  }

  async execute(code: string, options: QuickJSExecuteOptions): Promise<CodeExecutionResult> {
    for (const name of Object.keys(options.tools)) this.#checkToolName(name);
    const scan = scanTopLevel(code);
    const variablesJson = encodeJson(options.variables);
    let prepared = options.prepared;
    if (prepared && prepared.key !== this.#sandboxKey(Object.keys(options.tools))) {
      closeQuietly(prepared.session);
      prepared = undefined;
    }
    const { memory, quickjs } = prepared?.instance ??
      (options.instance?.memoryLimitBytes === this.limits.memoryLimitBytes
        ? options.instance
        : await this.#instantiate());
    let session: SandboxSession | undefined;
    try {
      const step = {
        tools: options.tools,
        modules: this.modules,
        signal: options.signal,
        onPrint: options.onPrint,
        stopRequested: options.stopRequested,
        onStart: options.onStart,
      };
      let skipped: string[];
      if (prepared) {
        session = prepared.session;
        session.bind(step);
        skipped = session.restore(variablesJson);
      } else {
        session = new SandboxSession(quickjs, {
          ...step,
          limits: this.limits,
          moduleSpecs: this.#moduleSpecs,
          authorized: this.authorizedImports,
        });
        skipped = session.install(variablesJson);
      }
      const outcome = await session.run(scan.code);
      const result = buildResult({ session, outcome, scan, options, skipped, memory, limits: this.limits });
      closeQuietly(session);
      return result;
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      // The engine itself failed (for example the host stack overflowed inside WASM): this instance is dropped
      // without touching it again.
      return crashResult(error, session?.output.text ?? "", options.variables);
    }
  }

  #checkToolName(name: string): void {
    if (!IDENTIFIER.test(name)) throw new ConfigurationError(`Tool name "${name}" is not a JavaScript identifier`);
  }

  /** What a prepared sandbox depends on: the tools' names and everything the prelude is built from. */
  #sandboxKey(toolNames: string[]): string {
    return JSON.stringify([toolNames, this.limits, this.authorizedImports, this.#moduleSpecs]);
  }

  async #instantiate(): Promise<QuickJSInstance> {
    this.#module ??= this.#wasm instanceof WebAssembly.Module ? Promise.resolve(this.#wasm) : this.#wasm();
    const wasmModule = await this.#module.catch((error) => {
      this.#module = undefined;
      throw error;
    });
    return await instantiateQuickJS(wasmModule, this.limits.memoryLimitBytes);
  }
}

/** Frees a session; a failure leaves only garbage (the instance is never used again). */
function closeQuietly(session: SandboxSession): void {
  try {
    session.close();
  } catch {
    // nothing to do
  }
}
