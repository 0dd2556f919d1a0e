/**
 * The seam between the CodeAgent and its sandbox. One `execute` call runs one step's code in a fresh sandbox;
 * everything that must survive to the next step comes back in the result (`variables`), so steps can run in
 * different processes. The QuickJS implementation lives in `quickjs_executor.ts`.
 */

/** Host-side context of one tool call. */
export interface ToolCallContext {
  /** Aborted when the step ends before the call settles (time limit, final answer, caller abort). */
  signal: AbortSignal;
}

/**
 * What a tool receives when the code called it with several arguments (`tool("a", 3)`): `{"@positional": ["a", 3]}`.
 * The agent maps them to the tool's inputs in declared order (`namedFromPositional`), as Python maps positional
 * arguments to `forward`'s parameters.
 */
export const POSITIONAL_KEY = "@positional";

/**
 * A tool as the sandboxed code sees it: `const r = await name({ ...namedArgs })`, `await name(value)` with the
 * bare value of a tool's only input (as smolagents allows), or `await name(a, b)` with positional arguments (see
 * {@link POSITIONAL_KEY}): `args` is what the code passed, `{}` when nothing, checked by the host against the tool's
 * inputs. Arguments arrive as JSON data (plus `Uint8Array`); the result must
 * be JSON data (plus `Uint8Array`). A thrown error reaches the code as a fresh sandbox `ToolError` carrying only the
 * message.
 */
export type SandboxTool = {
  // Method syntax (bivariant parameter): tools written for `Record<string, unknown>` arguments stay assignable.
  call(args: unknown, context: ToolCallContext): unknown;
}["call"];

export interface ExecuteOptions {
  /**
   * What earlier steps persisted (the previous result's `variables`), restored before the code runs: JSON data
   * (and `Uint8Array`). The entry "@imports", if present, records import bindings and is restored too.
   */
  variables: Record<string, unknown>;
  /** Functions exposed to the code by name. `final_answer` is the executor's own; a tool of that name is ignored. */
  tools: Record<string, SandboxTool>;
  /** Aborts the step (it ends with an `AbortError` result). */
  signal?: AbortSignal;
}

/** Why a step failed; the agent shows `name: message` (and the line) to the model. */
export interface CodeExecutionError {
  /**
   * The JavaScript error name (`TypeError`, `SyntaxError`, `ToolError` ...) or a limit: `TimeoutError`,
   * `MemoryLimitError`, `RangeError` (stack), `PendingPromiseError`, `ToolCallNotAwaitedError`, `AbortError`,
   * `SandboxCrashError`.
   */
  name: string;
  message: string;
  /** 1-based line in the model's code where the error was raised, when known. */
  line?: number;
  /** True when the code did not compile (a syntax error): none of it ran. */
  notCompiled?: boolean;
}

export interface CodeExecutionResult {
  /**
   * Value of the last expression statement ("Last output from code snippet"): the value itself when it is JSON
   * data, otherwise its printed form (a string); `undefined` when there is none.
   */
  output: unknown;
  /** Captured `print` / `console.*` output (capped, with a truncation note). Kept when the code fails. */
  logs: string;
  /** Set when the code called `final_answer(x)`: the run is over. */
  finalAnswer?: { value: unknown };
  /** Set when the code failed or hit a limit. */
  error?: CodeExecutionError;
  /**
   * Variables to pass to the next step: JSON, with `Uint8Array`s encoded as `{"\u0000bytes": "<base64>"}` (decoded
   * again on restore). Unchanged from the input when the sandbox could not be read.
   */
  variables: Record<string, unknown>;
  /** Top-level names that were not persisted: functions, classes, non-JSON values (cycles, Map, BigInt ...). */
  droppedVariables: string[];
}

export interface CodeExecutor {
  execute(code: string, options: ExecuteOptions): Promise<CodeExecutionResult>;
}

/** The "Execution logs / Last output" observation text of a step, as smolagents shows it to the model. */
export function formatObservation(result: CodeExecutionResult): string {
  const parts = [`Execution logs:\n${result.logs}`];
  if (result.error) {
    const where = result.error.line ? ` (line ${result.error.line})` : "";
    parts.push(`${result.error.name}${where}: ${result.error.message}`);
  } else if (result.output !== undefined) {
    const text = typeof result.output === "string" ? result.output : JSON.stringify(result.output);
    parts.push(`Last output from code snippet:\n${text}`);
  }
  return parts.join("\n");
}
