/**
 * Deno: the isolated QuickJS executor on Web Workers. Each worker gets no permissions at all where Deno allows
 * choosing them (`--unstable-worker-options`, or "worker-options" in deno.json's "unstable"): it receives the
 * compiled QuickJS module by message and needs nothing else. Without that flag the worker inherits the host's
 * permissions (the sandboxed code still reaches none of them: QuickJS exposes no host API).
 */

import { type IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../executors/isolated_executor.ts";
import type { SandboxThreadEvents, SpawnSandboxThread } from "../../executors/sandbox_thread_protocol.ts";

/** Resolved from this module (not the working directory), so bundles and `deno compile --include` find it. */
const WORKER_URL = new URL("./quickjs_worker.ts", import.meta.url);

export type DenoIsolatedExecutorOptions = Omit<IsolatedExecutorOptions, "spawn">;

export function createDenoIsolatedExecutor(options: DenoIsolatedExecutorOptions): IsolatedQuickJSExecutor {
  return new IsolatedQuickJSExecutor({ ...options, spawn: spawnDenoWorker });
}

let permissionsSupported = true;

/** Starts a module worker with no permissions (or inherited ones where permissions cannot be set). */
export const spawnDenoWorker: SpawnSandboxThread = (events: SandboxThreadEvents) => {
  let worker: Worker;
  try {
    worker = permissionsSupported
      ? new Worker(WORKER_URL, { type: "module", deno: { permissions: "none" } } as WorkerOptions)
      : new Worker(WORKER_URL, { type: "module" });
  } catch (error) {
    if (!permissionsSupported || !/unstable/i.test(String(error))) throw error;
    permissionsSupported = false;
    worker = new Worker(WORKER_URL, { type: "module" });
  }
  worker.onmessage = (event) => events.message(event.data);
  worker.onmessageerror = () => events.error("a message from the sandbox thread could not be read");
  worker.onerror = (event) => {
    // Handled here: an error in a worker must not take the host process down.
    event.preventDefault();
    events.error(event.message || "the sandbox thread failed");
  };
  return {
    postMessage: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
  };
};
