/**
 * The messages between the host and a sandbox thread (a Web Worker or a Node worker thread) that runs QuickJS
 * steps. Only names, code and plain data cross: tools and host modules stay on the host, and the thread asks for
 * them by name. Tool and module results travel as the value bridge's JSON envelopes, as inside one thread.
 */

import type { CodeExecutionResult } from "./executor.ts";
import type { HostModuleSpec } from "./sandbox_modules.ts";

/** The executor settings a thread needs to run a step (everything but the host functions). */
export interface ThreadStepConfig {
  timeLimitMs: number;
  memoryLimitBytes: number;
  maxStackBytes: number;
  maxOutputChars: number;
  maxInterruptChecks?: number;
  authorizedImports: string[];
  /** Host modules as the sandbox sees them: function names (called on the host) and JSON values. */
  modules: Record<string, HostModuleSpec>;
}

/** Host to thread. */
export type HostMessage =
  /** First message: the compiled QuickJS module, and the channel synchronous host-module calls block on. */
  | { type: "start"; wasm: WebAssembly.Module; channel: SharedArrayBuffer }
  | { type: "run"; code: string; variables: Record<string, unknown>; tools: string[]; config: ThreadStepConfig }
  /** A tool call or an async module call settled: a `resultEnvelope` / `failureEnvelope`. */
  | { type: "settled"; callId: number; envelope: string }
  /** The caller aborted: end the step as an abort ends it (the channel's stop flag reaches busy code too). */
  | { type: "stop" };

/** Thread to host. */
export type ThreadMessage =
  | { type: "ready" }
  /** The step is set up (sandbox made, variables restored) and its code starts: its time limit counts from here. */
  | { type: "started" }
  /** Printed output as it happens, so a step the host kills still shows what it printed (capped). */
  | { type: "print"; text: string }
  | { type: "tool"; callId: number; name: string; args: unknown }
  /** A host-module call: the thread blocks on the channel until the host answers (or defers). */
  | { type: "module"; callId: number; module: string; fn: string; args: unknown[] }
  | { type: "done"; result: CodeExecutionResult }
  /** The step could not start: a configuration mistake (e.g. a tool named like a sandbox global). */
  | { type: "refused"; message: string };

/** The host's handle on one thread; the adapter creates it. */
export interface SandboxThread {
  postMessage(message: HostMessage): void;
  /** Stops the thread at once, even inside a native loop. */
  terminate(): void;
  /** Lets the process exit while the thread idles (where the runtime allows it). */
  idle?(idle: boolean): void;
}

/** What the adapter calls back with: each message, and one error when the thread dies or cannot start. */
export interface SandboxThreadEvents {
  message(message: ThreadMessage): void;
  error(message: string): void;
}

/** Starts a thread running `serveSandboxThread` (Deno: a Web Worker; Node: a worker thread). */
export type SpawnSandboxThread = (events: SandboxThreadEvents) => SandboxThread;

/** The thread's end of the port: `self` in a Web Worker, a wrapper around `parentPort` in Node. */
export interface ThreadPort {
  postMessage(message: ThreadMessage): void;
  onMessage(listener: (message: HostMessage) => void): void;
}
