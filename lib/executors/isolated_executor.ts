/**
 * The QuickJS sandbox on its own threads: each step runs in a thread from a small warm pool, so model-written
 * code can never stall the host, not even inside a native builtin that QuickJS's interrupt check cannot reach.
 * The thread applies the usual limits, from when the code starts; the host keeps a wall clock too and terminates a
 * thread that has not answered by the time limit plus `killGraceMs` after the thread reported the code started
 * (or, before that, after `setupGraceMs` of set-up): the step ends with the same `TimeoutError` the model sees for
 * any timeout, the earlier variables kept and the output printed so far. The caller's abort signal ends the step as
 * in one thread (variables kept), and terminates the thread if it has not answered within `killGraceMs`. Tools and
 * host modules run here on the host, called by name from the thread.
 * Runtime-free: the adapter supplies the threads (`lib/adapters/deno`, `lib/adapters/node`).
 */

import { ConfigurationError } from "../errors.ts";
import { CapturedOutput } from "./captured_output.ts";
import type { CodeExecutionError, CodeExecutionResult, CodeExecutor, ExecuteOptions } from "./executor.ts";
import type { SessionLimits } from "./execution_budget.ts";
import { QuickJSExecutor, type QuickJSExecutorOptions } from "./quickjs_executor.ts";
import { type HostModuleSpec, hostModuleSpec, type SandboxModule } from "./sandbox_modules.ts";
import type { SpawnSandboxThread, ThreadMessage, ThreadStepConfig } from "./sandbox_thread_protocol.ts";
import { type PooledThread, SandboxThreadPool } from "./sandbox_thread_pool.ts";
import { crashResult, stopError } from "./step_result.ts";
import { ANSWERED, answerSync, DEFERRED, requestStop } from "./thread_channel.ts";
import { encodeJson, errorMessage, failureEnvelope, parseJson, resultEnvelope } from "./value_bridge.ts";

export interface IsolatedExecutorOptions extends Omit<QuickJSExecutorOptions, "wasm"> {
  /** The compiled QuickJS module (loaded once, sent to every thread). */
  wasm: () => Promise<WebAssembly.Module>;
  /** Starts one sandbox thread (the runtime adapter's job). */
  spawn: SpawnSandboxThread;
  /** Threads kept warm while idle. Default 2. */
  poolSize?: number;
  /** Steps running at once (one thread each); more wait for a free thread. Default 8 (at least `poolSize`). */
  maxThreads?: number;
  /**
   * How long past the time limit the host waits for a step's answer before it terminates the thread. It covers
   * reading the results of a step the thread stopped itself. Default 1,000 ms.
   */
  killGraceMs?: number;
  /**
   * How long the host gives a step's set-up before its code starts: a new thread starting, the sandbox made and the
   * variables restored on the thread. Set-up does not count against `timeLimitMs`, which starts with the code; a
   * step whose code has not started by then ends with the time-limit error (a thread that had received the step is
   * terminated and replaced). Default 10,000 ms.
   */
  setupGraceMs?: number;
}

export const ISOLATION_DEFAULTS = { poolSize: 2, maxThreads: 8, killGraceMs: 1_000, setupGraceMs: 10_000 } as const;

export class IsolatedQuickJSExecutor implements CodeExecutor, AsyncDisposable {
  readonly limits: SessionLimits;
  readonly authorizedImports: string[];
  readonly modules: Record<string, SandboxModule>;
  readonly killGraceMs: number;
  readonly setupGraceMs: number;
  #config: ThreadStepConfig;
  #pool: SandboxThreadPool;

  constructor(options: IsolatedExecutorOptions) {
    // The in-thread executor checks the configuration (and reports mistakes here, at construction).
    const checked = new QuickJSExecutor({ ...options, wasm: options.wasm });
    this.limits = checked.limits;
    this.authorizedImports = checked.authorizedImports;
    this.modules = checked.modules;
    const modules: Record<string, HostModuleSpec> = {};
    for (const name of this.authorizedImports) {
      if (Object.hasOwn(this.modules, name)) modules[name] = hostModuleSpec(name, this.modules[name]);
    }
    this.#config = { ...this.limits, authorizedImports: this.authorizedImports, modules };
    this.killGraceMs = options.killGraceMs ?? ISOLATION_DEFAULTS.killGraceMs;
    this.setupGraceMs = options.setupGraceMs ?? ISOLATION_DEFAULTS.setupGraceMs;
    const size = Math.max(1, options.poolSize ?? ISOLATION_DEFAULTS.poolSize);
    this.#pool = new SandboxThreadPool({
      spawn: options.spawn,
      wasm: options.wasm,
      // A UTF-8 copy of any answer the sandbox can hold fits (see the session's size check).
      maxAnswerBytes: this.limits.memoryLimitBytes + 1024,
      size,
      max: Math.max(size, options.maxThreads ?? ISOLATION_DEFAULTS.maxThreads),
    });
  }

  /** Threads alive now (warm or busy). */
  get threads(): number {
    return this.#pool.threads;
  }

  /**
   * Threads stopped by the host that are still busy: where the runtime cannot interrupt a thread (Deno), one
   * caught in a long native operation stops at its next interrupt check. They count against `maxThreads`.
   */
  get stuckThreads(): number {
    return this.#pool.stuckThreads;
  }

  /** Starts the warm threads now (otherwise the first step does), e.g. while a server starts. */
  warmUp(): Promise<void> {
    return this.#pool.warm();
  }

  async execute(code: string, options: ExecuteOptions): Promise<CodeExecutionResult> {
    if (this.#pool.closed) throw new Error("The executor is closed");
    const aborted = () => killedResult(options, "", stopError("abort", this.limits));
    if (options.signal?.aborted) return aborted();
    // Waiting for a free thread is bounded by the time limit: a step never waits longer than it could run. (The
    // code's own time limit starts only with the code, on the thread.)
    const waited = new AbortController();
    const timer = setTimeout(() => waited.abort(), this.limits.timeLimitMs);
    const signal = options.signal ? AbortSignal.any([options.signal, waited.signal]) : waited.signal;
    let thread: PooledThread;
    try {
      thread = await this.#pool.acquire(signal);
    } catch (error) {
      if (options.signal?.aborted) return aborted();
      if (waited.signal.aborted) return killedResult(options, "", stopError("time", this.limits));
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (options.signal?.aborted) {
      this.#pool.release(thread);
      return aborted();
    }
    return await this.#runOn(thread, code, options);
  }

  /** Terminates every thread: running steps end with a crash result; the executor refuses further steps. */
  close(): void {
    this.#pool.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /**
   * Runs the step on `thread` under the host's kill timer, which always fires: first `setupGraceMs` for set-up (the
   * thread starting if it is new, then making the sandbox and restoring the variables), then, from the thread's
   * "started" message (sent after the thread's own time limit started), the time limit plus `killGraceMs`.
   */
  #runOn(thread: PooledThread, code: string, options: ExecuteOptions): Promise<CodeExecutionResult> {
    const tools = new AbortController();
    const output = new CapturedOutput(this.limits.maxOutputChars);
    return new Promise((resolve, reject) => {
      let over = false;
      /** The step was sent to the thread: from here on, stopping it early means terminating the thread. */
      let sent = false;
      let stopping = false;
      const end = (outcome: { result: CodeExecutionResult } | { error: Error }, keep: boolean) => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        tools.abort();
        if (keep) this.#pool.release(thread);
        else thread.exit("the step was stopped");
        if ("result" in outcome) resolve(outcome.result);
        else reject(outcome.error);
      };
      const kill = (error: CodeExecutionError) => end({ result: killedResult(options, output.text, error) }, !sent);
      const arm = (ms: number, error: CodeExecutionError) => {
        clearTimeout(timer);
        timer = setTimeout(() => kill(error), ms);
      };
      let timer = setTimeout(() => kill(stopError("time", this.limits)), this.setupGraceMs);
      const onAbort = () => {
        if (!sent) return kill(stopError("abort", this.limits));
        stopping = true;
        requestStop(thread.channel);
        thread.post({ type: "stop" });
        arm(this.killGraceMs, stopError("abort", this.limits));
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const onMessage = (message: ThreadMessage) => {
        if (over) return;
        switch (message.type) {
          case "started":
            if (!stopping) arm(this.limits.timeLimitMs + this.killGraceMs, stopError("time", this.limits));
            return;
          case "print":
            return output.write(message.text);
          case "tool":
            return this.#callTool(message, options, tools.signal, (envelope) => {
              if (!over) thread.post({ type: "settled", callId: message.callId, envelope });
            });
          case "module":
            return this.#callModule(message, thread, () => over);
          case "done":
            return end({ result: message.result }, true);
          case "refused":
            return end({ error: new ConfigurationError(message.message) }, true);
        }
      };
      const run = (variables: Record<string, unknown>) =>
        thread.post({ type: "run", code, variables, tools: Object.keys(options.tools), config: this.#config });
      const crashed = (reason: string) =>
        end({ result: crashResult(new Error(reason), output.text, options.variables) }, false);
      const send = () => {
        if (over) return;
        if (thread.exited) return crashed("the sandbox thread exited");
        thread.onExit = crashed;
        thread.onMessage = onMessage;
        sent = true;
        try {
          try {
            run(options.variables);
          } catch (error) {
            if ((error as { name?: string })?.name !== "DataCloneError") throw error;
            // Values the sandbox would not restore anyway (functions ...): send what JSON keeps, as the sandbox does.
            run(parseJson(encodeJson(options.variables)) as Record<string, unknown>);
          }
        } catch (error) {
          sent = false;
          end({ error: error instanceof Error ? error : new Error(errorMessage(error)) }, true);
        }
      };
      // A thread that could not start fails the step (as a misconfigured pool must), with no result to give.
      thread.ready.then(send, (error) => end({ error }, false));
    });
  }

  #callTool(
    call: Extract<ThreadMessage, { type: "tool" }>,
    options: ExecuteOptions,
    signal: AbortSignal,
    answer: (envelope: string) => void,
  ): void {
    const tool = Object.hasOwn(options.tools, call.name) ? options.tools[call.name] : undefined;
    Promise.resolve()
      .then(() => {
        if (!tool) throw new Error(`unknown tool ${call.name}`);
        return tool(call.args, { signal });
      })
      .then(resultEnvelope, (error) => failureEnvelope(errorMessage(error)))
      .then(answer)
      .catch(() => {});
  }

  /** Runs a host-module function for the thread, which waits on the channel: a sync result answers at once. */
  #callModule(call: Extract<ThreadMessage, { type: "module" }>, thread: PooledThread, over: () => boolean): void {
    const answer = (envelope: string) => {
      if (!answerSync(thread.channel, ANSWERED, envelope)) {
        answerSync(
          thread.channel,
          ANSWERED,
          failureEnvelope(`its result is too large (${envelope.length} characters)`),
        );
      }
    };
    const target = this.authorizedImports.includes(call.module) ? this.modules[call.module] : undefined;
    const impl = target && Object.hasOwn(target, call.fn) ? target[call.fn] : undefined;
    if (typeof impl !== "function") return answer(failureEnvelope(`${call.module}.${call.fn} is not available`));
    let result: unknown;
    try {
      result = impl(...(Array.isArray(call.args) ? call.args : []));
    } catch (error) {
      return answer(failureEnvelope(errorMessage(error)));
    }
    if (!(result instanceof Promise)) return answer(resultEnvelope(result));
    answerSync(thread.channel, DEFERRED);
    result.then(resultEnvelope, (error) => failureEnvelope(errorMessage(error))).then((envelope) => {
      if (!over()) thread.post({ type: "settled", callId: call.callId, envelope });
    });
  }
}

/** The result of a step the host stopped: nothing is read back from the thread, so earlier variables stay. */
function killedResult(options: ExecuteOptions, logs: string, error: CodeExecutionError): CodeExecutionResult {
  return { output: undefined, logs, error, variables: options.variables, droppedVariables: [] };
}
