/**
 * Deno / Node adapter: loads the QuickJS WASM module from the installed npm package (compiling its bytes, which
 * these runtimes allow) and builds executors with it: by default the isolated executor, whose steps run on a
 * small pool of worker threads so no code can stall the host. Cloudflare Workers import the .wasm file instead:
 * see `quickjs_executor.ts`.
 */

import { createDenoIsolatedExecutor } from "./isolated_quickjs_executor.ts";
import { createNodeIsolatedExecutor } from "../node/isolated_quickjs_executor.ts";
import type { IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../executors/isolated_executor.ts";
import { QuickJSExecutor } from "../../executors/quickjs_executor.ts";

let compiled: Promise<WebAssembly.Module> | undefined;

/** Reads and compiles the packaged QuickJS .wasm once per process. */
export function loadQuickJSWasm(): Promise<WebAssembly.Module> {
  compiled ??= readWasm().then((bytes) => WebAssembly.compile(bytes)).catch((error) => {
    compiled = undefined;
    throw error;
  });
  return compiled;
}

async function readWasm(): Promise<BufferSource> {
  const url = new URL(import.meta.resolve("@jitl/quickjs-wasmfile-release-sync/wasm"));
  if (url.protocol !== "file:") return await (await fetch(url)).arrayBuffer();
  const deno = (globalThis as { Deno?: { readFile(path: URL): Promise<Uint8Array<ArrayBuffer>> } }).Deno;
  if (deno) return await deno.readFile(url);
  const fs = await import("node:fs/promises");
  return new Uint8Array(await fs.readFile(url));
}

/** Options of `createDenoQuickJSExecutor`: the executor's, the pool's, and the opt-out of threads. */
export interface DenoQuickJSExecutorOptions extends Omit<IsolatedExecutorOptions, "wasm" | "spawn"> {
  /**
   * Deno only: the worker threads' permissions. "none" needs `--unstable-worker-options` (without it Deno exits);
   * the default "inherit" gives them the host's (the sandboxed code reaches none of them either way).
   */
  workerPermissions?: "none" | "inherit";
  /**
   * Run steps on the calling thread (the plain `QuickJSExecutor`), as on Workers and in browsers. Then a native
   * builtin looping inside the sandbox, or a tight loop until the time limit, blocks the host meanwhile.
   */
  inThread?: boolean;
}

/**
 * A QuickJS executor for Deno or Node (options as for `QuickJSExecutor`, minus `wasm`): isolated on worker
 * threads unless `inThread` is set. Close an isolated executor (`close()`, or `await using`) when done with it:
 * warm Deno workers keep the process alive.
 */
export function createDenoQuickJSExecutor(options: DenoQuickJSExecutorOptions & { inThread: true }): QuickJSExecutor;
export function createDenoQuickJSExecutor(
  options?: DenoQuickJSExecutorOptions & { inThread?: false },
): IsolatedQuickJSExecutor;
export function createDenoQuickJSExecutor(
  options?: DenoQuickJSExecutorOptions,
): QuickJSExecutor | IsolatedQuickJSExecutor;
export function createDenoQuickJSExecutor(
  options: DenoQuickJSExecutorOptions = {},
): QuickJSExecutor | IsolatedQuickJSExecutor {
  const { inThread, poolSize, maxThreads, killGraceMs, setupGraceMs, workerPermissions, ...executor } = options;
  const deno = "Deno" in globalThis;
  // Deno without Web Workers (some hosted platforms): steps run in-thread there.
  if (inThread || (deno && typeof Worker === "undefined")) {
    return new QuickJSExecutor({ ...executor, wasm: loadQuickJSWasm });
  }
  const isolation = { ...executor, poolSize, maxThreads, killGraceMs, setupGraceMs, wasm: loadQuickJSWasm };
  return deno ? createDenoIsolatedExecutor({ ...isolation, workerPermissions }) : createNodeIsolatedExecutor(isolation);
}
