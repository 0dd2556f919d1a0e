/**
 * Node: the isolated QuickJS executor on `worker_threads`. Idle threads are unreferenced, so a warm pool never
 * keeps the process alive; `close()` terminates them. Node runs the worker's TypeScript source where it strips
 * types (Node 22.6+); a build that compiles to JavaScript must ship `quickjs_worker.js` beside this module.
 */

import { Worker } from "node:worker_threads";
import { type IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../executors/isolated_executor.ts";
import type { SandboxThreadEvents, SpawnSandboxThread } from "../../executors/sandbox_thread_protocol.ts";

/** The worker script beside this module, with this module's own extension (.ts from source, .js when built). */
const WORKER_URL = new URL(
  import.meta.url.endsWith(".js") ? "./quickjs_worker.js" : "./quickjs_worker.ts",
  import.meta.url,
);

export type NodeIsolatedExecutorOptions = Omit<IsolatedExecutorOptions, "spawn">;

export function createNodeIsolatedExecutor(options: NodeIsolatedExecutorOptions): IsolatedQuickJSExecutor {
  return new IsolatedQuickJSExecutor({ ...options, spawn: spawnNodeWorker });
}

export const spawnNodeWorker: SpawnSandboxThread = (events: SandboxThreadEvents) => {
  const worker = new Worker(WORKER_URL);
  let exited = false;
  worker.on("message", (message) => events.message(message));
  worker.on("messageerror", () => events.error("a message from the sandbox thread could not be read"));
  worker.on("error", (error: Error) => events.error(error?.message || "the sandbox thread failed"));
  worker.on("exit", (code) => {
    exited = true;
    events.error(`the sandbox thread exited (code ${code})`);
  });
  return {
    postMessage: (message) => worker.postMessage(message),
    terminate: () => {
      if (!exited) void worker.terminate();
    },
    idle: (idle) => idle ? worker.unref() : worker.ref(),
  };
};
