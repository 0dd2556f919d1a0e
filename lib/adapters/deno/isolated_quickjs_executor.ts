/**
 * Deno: the isolated QuickJS executor on Web Workers. A worker needs no permission at all (it receives the
 * compiled QuickJS module by message), and `workerPermissions: "none"` gives it none; Deno allows choosing a
 * worker's permissions only under `--unstable-worker-options` (or "worker-options" in deno.json's "unstable") and
 * exits the process otherwise, so the default is to inherit the host's. Either way the sandboxed code reaches no
 * Deno API: QuickJS exposes none.
 */

import { type IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../executors/isolated_executor.ts";
import type { SandboxThreadEvents, SpawnSandboxThread } from "../../executors/sandbox_thread_protocol.ts";

/**
 * Resolved from this module (not the working directory), so bundles and `deno compile --include` find it; with this
 * module's own extension (.ts from source, .js from the npm build).
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith(".js") ? "./quickjs_worker.js" : "./quickjs_worker.ts",
  import.meta.url,
);

export interface DenoIsolatedExecutorOptions extends Omit<IsolatedExecutorOptions, "spawn"> {
  /** "none" (needs `--unstable-worker-options`) or "inherit" (the default). */
  workerPermissions?: "none" | "inherit";
}

export function createDenoIsolatedExecutor(options: DenoIsolatedExecutorOptions): IsolatedQuickJSExecutor {
  const { workerPermissions = "inherit", ...rest } = options;
  return new IsolatedQuickJSExecutor({ ...rest, spawn: denoWorkerSpawner(workerPermissions) });
}

/** Starts module workers with the given permissions. */
export function denoWorkerSpawner(permissions: "none" | "inherit"): SpawnSandboxThread {
  const options = permissions === "none"
    ? { type: "module", deno: { permissions: "none" } } as WorkerOptions
    : { type: "module" } as const;
  return (events: SandboxThreadEvents) => {
    const worker = new Worker(WORKER_URL, options);
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
}

/** Workers that inherit the host's permissions. */
export const spawnDenoWorker: SpawnSandboxThread = denoWorkerSpawner("inherit");
