/**
 * Deno / Node adapter: loads the QuickJS WASM module from the installed npm package (compiling its bytes, which
 * these runtimes allow) and builds executors with it. Cloudflare Workers import the .wasm file instead: see
 * `quickjs_executor.ts`.
 */

import { QuickJSExecutor, type QuickJSExecutorOptions } from "./quickjs_executor.ts";

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

/** A QuickJS executor for Deno or Node (options as for `QuickJSExecutor`, minus `wasm`). */
export function createDenoQuickJSExecutor(options: Omit<QuickJSExecutorOptions, "wasm"> = {}): QuickJSExecutor {
  return new QuickJSExecutor({ ...options, wasm: loadQuickJSWasm });
}
