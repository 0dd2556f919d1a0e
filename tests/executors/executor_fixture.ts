/**
 * Shared executor and tools for the executor tests. The suite runs against the isolated executor (steps on worker
 * threads, the default); `SMOLSTEP_EXECUTOR=in-thread` runs the same tests against the in-thread one.
 */

import type { CodeExecutionResult, CodeExecutor, ExecuteOptions, SandboxTool } from "../../lib/executors/executor.ts";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import type { QuickJSExecutorOptions } from "../../lib/executors/quickjs_executor.ts";
import { IsolatedQuickJSExecutor } from "../../lib/executors/isolated_executor.ts";

const inThread = Deno.env.get("SMOLSTEP_EXECUTOR") === "in-thread";

export const tools: Record<string, SandboxTool> = {
  reverse_words: ({ text }) => Promise.resolve(String(text).split(" ").reverse().join(" ")),
  add: ({ a, b }) => Number(a) + Number(b),
  echo: (args) => args,
  bytes: ({ size }) => new Uint8Array(Number(size)).map((_, i) => i % 256),
  byte_length: ({ data }) => (data instanceof Uint8Array ? data.length : -1),
  fail: ({ message }) => Promise.reject(new TypeError(String(message ?? "tool failed"))),
  sleep: ({ ms }, { signal }) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve("slept"), Number(ms));
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new Error("aborted"));
      });
    }),
};

export const executor: CodeExecutor = executorWith({});

/** Runs `code` with the shared tools (or `options`), on `withExecutor` if given. */
export function run(
  code: string,
  options: Partial<ExecuteOptions> = {},
  withExecutor: CodeExecutor = executor,
): Promise<CodeExecutionResult> {
  return withExecutor.execute(code, { variables: {}, tools, ...options });
}

/** Waits until an isolated executor's warm threads have started, so a timed step measures the step alone. */
export async function warmed(executor: CodeExecutor): Promise<void> {
  if (executor instanceof IsolatedQuickJSExecutor) await executor.warmUp();
}

/** An executor with some options changed. */
export function executorWith(options: Omit<QuickJSExecutorOptions, "wasm">): CodeExecutor {
  const created = createDenoQuickJSExecutor({ timeLimitMs: 3_000, ...options, inThread });
  // Threads start now rather than in the first timed step (as a server's warmUp() at startup would).
  if (created instanceof IsolatedQuickJSExecutor) created.warmUp().catch(() => {});
  return created;
}
