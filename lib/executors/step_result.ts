/**
 * Turns how a step ended into a `CodeExecutionResult`: output or error (limits named plainly), the final answer,
 * the hint for tool calls left without `await`, and the variables snapshot for the next step.
 */

import type { CodeExecutionError, CodeExecutionResult, ExecuteOptions } from "./executor.ts";
import { type SessionLimits, STALLED_CHECKS_PER_MS } from "./execution_budget.ts";
import type { CodeOutcome, SandboxSession } from "./quickjs_session.ts";
import { IMPORTS_KEY } from "./sandbox_prelude.ts";
import type { TopLevelScan } from "./top_level.ts";
import { errorMessage, parseJson } from "./value_bridge.ts";
import { clipText } from "../text_clip.ts";

export interface StepEnd {
  session: SandboxSession;
  outcome: CodeOutcome;
  scan: TopLevelScan;
  options: ExecuteOptions;
  /** Persisted names that could not be restored (they would shadow a tool or a builtin). */
  skipped: string[];
  memory: WebAssembly.Memory;
  limits: SessionLimits;
}

interface Envelope {
  ok: boolean;
  output?: { json?: string; text?: string };
  error?: CodeExecutionError;
}

export function buildResult(end: StepEnd): CodeExecutionResult {
  const { session, outcome, limits } = end;
  session.enterGrace();
  let output: unknown;
  let error: CodeExecutionError | undefined;
  if ("envelope" in outcome) {
    const envelope = JSON.parse(outcome.envelope) as Envelope;
    if (envelope.ok) {
      const { json, text } = envelope.output ?? {};
      // The prelude sends at most one character past the cap of a printed (non-JSON) output.
      output = json !== undefined
        ? parseJson(json)
        : text === undefined
        ? undefined
        : clipText(text, limits.maxOutputChars, "... [truncated]");
    } else error = classify(envelope.error, end);
  } else if ("compileError" in outcome) {
    error = { ...classify(JSON.parse(outcome.compileError), end), notCompiled: true };
  } else if ("stalled" in outcome) {
    error = {
      name: "PendingPromiseError",
      message: "The code awaits a promise that can never settle: no tool call or timer is left to settle it",
    };
  } else if (outcome.stopped !== "final") {
    error = stopError(outcome.stopped, limits);
  }
  if (!session.finalAnswer) {
    const unawaited = [...new Set<string>(JSON.parse(session.callString("unconsumed") ?? "[]"))];
    if (unawaited.length) {
      const calls = unawaited.map((n) => `${n}(...)`).join(", ");
      const hint = `${calls} called without await, so the result was lost. Tools are async: ` +
        `write \`const result = await ${unawaited[0]}({ ... })\``;
      error = error
        ? { ...error, message: `${error.message} (note: ${hint})` }
        : { name: "ToolCallNotAwaitedError", message: hint };
    }
  }
  const { variables, dropped } = snapshot(end);
  return {
    output,
    logs: session.output.text,
    ...(session.finalAnswer ? { finalAnswer: session.finalAnswer } : {}),
    ...(error ? { error } : {}),
    variables,
    droppedVariables: [...new Set([...end.skipped, ...dropped])],
  };
}

/** The result of a step whose engine failed: nothing is read back from it; earlier variables are kept. */
export function crashResult(error: unknown, logs: string, variables: Record<string, unknown>): CodeExecutionResult {
  const message = errorMessage(error);
  const hint = /call stack/i.test(message) ? ": the code recursed too deeply or built a too deeply nested value" : "";
  return {
    output: undefined,
    logs,
    error: { name: "SandboxCrashError", message: `The sandbox crashed (${message})${hint}` },
    variables,
    droppedVariables: [],
  };
}

/** The error of a step stopped by a limit or the caller. */
export function stopError(reason: "time" | "checks" | "abort", limits: SessionLimits): CodeExecutionError {
  const seconds = limits.timeLimitMs / 1000;
  if (reason === "abort") return { name: "AbortError", message: "Execution was aborted" };
  if (reason === "checks") {
    const budget = limits.maxInterruptChecks ?? limits.timeLimitMs * STALLED_CHECKS_PER_MS;
    return { name: "TimeoutError", message: `Execution exceeded its CPU budget (${budget} interrupt checks)` };
  }
  return { name: "TimeoutError", message: `Execution exceeded the time limit of ${seconds} s` };
}

/** Names QuickJS's own limit errors plainly; passes other errors through. */
function classify(raw: CodeExecutionError | undefined, end: StepEnd): CodeExecutionError {
  const e = raw ?? { name: "Error", message: "Unknown error" };
  const line = typeof e.line === "number" ? { line: e.line } : {};
  const cap = (end.limits.memoryLimitBytes + 16 * 1024 * 1024) * 0.9;
  const outOfMemory = e.name === "InternalError" && e.message === "out of memory";
  if (outOfMemory || (/^Uncaught (null|undefined)$/.test(e.message) && end.memory.buffer.byteLength >= cap)) {
    const mib = Math.round(end.limits.memoryLimitBytes / 2 ** 20);
    return { name: "MemoryLimitError", message: `Memory limit of ${mib} MiB exceeded`, ...line };
  }
  if (e.name === "InternalError" && e.message === "stack overflow") {
    const kib = Math.round(end.limits.maxStackBytes / 1024);
    return { name: "RangeError", message: `Maximum call stack size exceeded (stack limit ${kib} KiB)`, ...line };
  }
  const redeclared = /^redeclaration of '(.+)'$|^cannot define variable '(.+)'$/.exec(e.message);
  const name = redeclared?.[1] ?? redeclared?.[2];
  if (name && (name === "final_answer" || Object.hasOwn(end.options.tools, name))) {
    return { name: e.name, message: `${e.message}: ${name} is a tool; choose another name`, ...line };
  }
  return { name: e.name, message: e.message, ...line };
}

function snapshot(end: StepEnd): { variables: Record<string, unknown>; dropped: string[] } {
  const previous = end.options.variables;
  const imports: Record<string, unknown> = Object.create(null);
  const recorded = previous[IMPORTS_KEY];
  if (recorded && typeof recorded === "object" && !Array.isArray(recorded)) Object.assign(imports, recorded);
  for (const b of end.scan.imports) imports[b.local] = [b.module, b.name];
  const candidates = [...end.scan.declared, ...Object.keys(previous).filter((k) => k !== IMPORTS_KEY)];
  const text = end.session.callString("snapshot", JSON.stringify({ candidates, imports }));
  if (text === undefined) return { variables: previous, dropped: [] };
  try {
    const parsed = JSON.parse(text) as { variables: Record<string, unknown>; dropped: string[] };
    return { variables: parsed.variables, dropped: parsed.dropped };
  } catch {
    return { variables: previous, dropped: [] };
  }
}
