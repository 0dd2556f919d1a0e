/**
 * The thread side of the isolated executor: receives the compiled QuickJS module once, then runs each step with
 * the ordinary `QuickJSExecutor`, its tools and host-module functions standing in for the host's by asking the
 * host over the port. A step that never yields here only blocks this thread; the host kills it at its deadline.
 */

import { ConfigurationError } from "../errors.ts";
import type { SandboxTool } from "./executor.ts";
import type { SandboxModule } from "./sandbox_modules.ts";
import {
  EXECUTOR_DEFAULTS,
  instantiateQuickJS,
  type PreparedSandbox,
  QuickJSExecutor,
  type QuickJSInstance,
} from "./quickjs_executor.ts";
import type { HostMessage, ThreadPort, ThreadStepConfig } from "./sandbox_thread_protocol.ts";
import { crashResult } from "./step_result.ts";
import { armAnswer, awaitAnswer, DEFERRED, markRunning, stopRequested } from "./thread_channel.ts";
import { parseJson } from "./value_bridge.ts";

type RunMessage = Extract<HostMessage, { type: "run" }>;

/** Serves steps on this thread until it is terminated. */
export function serveSandboxThread(port: ThreadPort): void {
  let wasm: WebAssembly.Module | undefined;
  let channel: SharedArrayBuffer | undefined;
  let lastCallId = 0;
  /** Calls awaiting a "settled" message, by call id (ids are never reused, so late answers find nothing). */
  const pending = new Map<number, (envelope: string) => void>();
  let queue = Promise.resolve();
  let stepAbort: AbortController | undefined;
  /**
   * The next step's sandbox, made while the thread idles (instance and prelude are most of a small step's cost):
   * a fresh instance, and once a step has shown the tools and settings, the prelude installed for the same ones.
   */
  let spare: Promise<{ instance?: QuickJSInstance; prepared?: PreparedSandbox }> | undefined;
  const prepare = (run?: RunMessage) => {
    spare = (async () => {
      const instance = await instantiateQuickJS(
        wasm!,
        run?.config.memoryLimitBytes ?? EXECUTOR_DEFAULTS.memoryLimitBytes,
      );
      if (!run) return { instance };
      const executor = new QuickJSExecutor({ ...run.config, wasm: wasm!, modules: hostModules(run.config) });
      return { prepared: await executor.prepare(run.tools, instance) };
    })().catch(() => ({}));
  };

  const awaitSettled = (callId: number) =>
    new Promise<unknown>((resolve, reject) => {
      pending.set(callId, (envelope) => {
        try {
          resolve(unwrap(envelope));
        } catch (error) {
          reject(error);
        }
      });
    });

  const tool = (name: string): SandboxTool => (args) => {
    const callId = ++lastCallId;
    port.postMessage({ type: "tool", callId, name, args });
    return awaitSettled(callId);
  };

  const moduleFunction = (module: string, fn: string) => (...args: unknown[]) => {
    const callId = ++lastCallId;
    armAnswer(channel!);
    port.postMessage({ type: "module", callId, module, fn, args });
    const answer = awaitAnswer(channel!);
    return answer.state === DEFERRED ? awaitSettled(callId) : unwrap(answer.text);
  };

  const runStep = async (run: RunMessage) => {
    pending.clear();
    const tools = Object.fromEntries(run.tools.map((name) => [name, tool(name)]));
    let printed = 0;
    stepAbort = new AbortController();
    markRunning(channel!, true);
    try {
      const executor = new QuickJSExecutor({ ...run.config, wasm: wasm!, modules: hostModules(run.config) });
      const ahead = await spare;
      spare = undefined;
      const result = await executor.execute(run.code, {
        ...ahead,
        variables: run.variables,
        tools,
        signal: stepAbort.signal,
        onPrint: (text) => {
          // Streamed up to the cap only: the host needs no more to show a killed step's output.
          if (printed > run.config.maxOutputChars) return;
          printed += text.length;
          port.postMessage({ type: "print", text });
        },
        stopRequested: () => stopRequested(channel!),
        // The host's kill timer for the step's run starts with this message (set-up has its own margin).
        onStart: () => port.postMessage({ type: "started" }),
      });
      markRunning(channel!, false);
      port.postMessage({ type: "done", result });
    } catch (error) {
      if (error instanceof ConfigurationError) port.postMessage({ type: "refused", message: error.message });
      else port.postMessage({ type: "done", result: crashResult(error, "", run.variables) });
    } finally {
      markRunning(channel!, false);
      pending.clear();
      prepare(run);
    }
  };

  port.onMessage((message) => {
    if (message.type === "start") {
      wasm = message.wasm;
      channel = message.channel;
      prepare();
      port.postMessage({ type: "ready" });
    } else if (message.type === "settled") {
      const settle = pending.get(message.callId);
      pending.delete(message.callId);
      settle?.(message.envelope);
    } else if (message.type === "stop") {
      stepAbort?.abort();
    } else if (message.type === "run") {
      queue = queue.then(() => runStep(message));
    }
  });

  /** Stand-ins for the host modules: their values, and functions that call the host. */
  function hostModules(config: ThreadStepConfig): Record<string, SandboxModule> {
    const modules: Record<string, SandboxModule> = {};
    for (const [name, spec] of Object.entries(config.modules)) {
      const module: SandboxModule = { ...spec.values };
      for (const fn of spec.functions) module[fn] = moduleFunction(name, fn);
      modules[name] = module;
    }
    return modules;
  }
}

/** The value of a host envelope, or its failure thrown as an error carrying the same message. */
function unwrap(envelope: string): unknown {
  const parsed = parseJson(envelope) as { ok: boolean; v?: unknown; error?: string };
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.v;
}
