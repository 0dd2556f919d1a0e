/**
 * The seam between the CodeAgent and its sandbox (a sketch; the QuickJS executor owns the details).
 * One `execute` call runs one step's code in a fresh context.
 */

/** A tool as the sandboxed code sees it: an async function taking one object of named arguments. */
export type SandboxTool = (args: Record<string, unknown>) => Promise<unknown>;

export interface ExecuteOptions {
  /** Top-level variables persisted by earlier steps, restored before the code runs. */
  variables: Record<string, unknown>;
  /** Functions exposed to the code by name (tools, `final_answer` is provided by the executor). */
  tools: Record<string, SandboxTool>;
}

export interface CodeExecutionResult {
  /** Value of the last expression statement (JSON-serializable form), `undefined` if none. */
  output: unknown;
  /** Captured console output (capped). */
  logs: string;
  /** Set when the code called `final_answer(x)`. */
  finalAnswer?: { value: unknown };
  /** Set when the code failed; `logs` still holds what was printed before. */
  error?: { name: string; message: string; line?: number };
  /** JSON-serializable top-level bindings after the run, to be stored in the run state. */
  variables: Record<string, unknown>;
  /** Names of top-level bindings that could not be persisted. */
  droppedVariables: string[];
}

export interface CodeExecutor {
  execute(code: string, options: ExecuteOptions): Promise<CodeExecutionResult>;
}
