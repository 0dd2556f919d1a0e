/**
 * The error tree. Every error smolstep throws is a `SmolstepError`: catch that one class and read `code` (a stable
 * snake_case string, the HTTP error code where the server answers with one) and `retryable` (the same call may
 * succeed later, unchanged). `name` stays the class name; stored step errors keep it as their `type`.
 *
 * Agent errors (parsing, tool call, execution) are recorded on the step and fed back to the model; `ModelError`
 * and `ConfigurationError` stop a step without changing the run.
 */

export interface SmolstepErrorOptions extends ErrorOptions {
  /** Stable machine-readable code (default `internal_error`). */
  code?: string;
  /** True when the same call may succeed later (default false). */
  retryable?: boolean;
}

/** The root of smolstep's errors. */
export class SmolstepError extends Error {
  override name = "SmolstepError";
  /** Stable snake_case identifier; the HTTP layer maps it to a status (lib/http/http_errors.ts). */
  readonly code: string;
  /** True for failures that may succeed if tried again unchanged (network, 429, 5xx, a deadline). */
  readonly retryable: boolean;
  constructor(message: string, options: SmolstepErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "internal_error";
    this.retryable = options.retryable ?? false;
  }
}

/** An error of the agent's action, recorded on the step (`type` is the class name, as smolagents names it). */
export class AgentError extends SmolstepError {
  override name = "AgentError";
  constructor(message: string, options: SmolstepErrorOptions = {}) {
    super(message, { code: "agent_error", ...options });
  }
  /** Stable identifier, also used as the `type` of a step's recorded error. */
  get type(): string {
    return this.name;
  }
  toJSON(): { type: string; message: string } {
    return { type: this.type, message: this.message };
  }
}

/** The model's output could not be parsed into an action. */
export class AgentParsingError extends AgentError {
  override name = "AgentParsingError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "parsing_error" });
  }
}

/** The model called a tool that does not exist, or with invalid arguments. */
export class AgentToolCallError extends AgentError {
  override name = "AgentToolCallError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "tool_call_error" });
  }
}

/** A tool threw while running. */
export class AgentToolExecutionError extends AgentError {
  override name = "AgentToolExecutionError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "tool_execution_error" });
  }
}

/** Model-written code failed (CodeAgent). */
export class AgentExecutionError extends AgentError {
  override name = "AgentExecutionError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "execution_error" });
  }
}

/** The run used all its steps without a final answer. */
export class AgentMaxStepsError extends AgentError {
  override name = "AgentMaxStepsError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "max_steps_error" });
  }
}

/** The model could not produce a reply (network, 5xx after retries, bad credentials). Ends a `run()`. */
export class AgentGenerationError extends AgentError {
  override name = "AgentGenerationError";
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, { ...options, code: "model_error" });
  }
}

/** A model backend call failed for good (after retries). */
export class ModelError extends SmolstepError {
  override name = "ModelError";
  readonly modelId: string | undefined;
  /** The backend's HTTP status, when it answered. */
  readonly status: number | undefined;
  constructor(
    message: string,
    options: { modelId?: string; status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    // `retryable`: true for failures that may succeed later (429, 5xx, timeouts, network).
    super(message, { cause: options.cause, code: "model_error", retryable: options.retryable });
    this.modelId = options.modelId;
    this.status = options.status;
  }
}

/** Something the deployer must fix (missing API key, unknown model backend...). */
export class ConfigurationError extends SmolstepError {
  override name = "ConfigurationError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "not_configured" });
  }
}

/** Input given to a paused run does not fit what it waits for. */
export class InvalidInputError extends SmolstepError {
  override name = "InvalidInputError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "invalid_input" });
  }
}
