/**
 * Error classes shared across layers. Agent errors (parsing, tool call, execution) are recorded on the step and
 * fed back to the model; `ModelError` and `ConfigurationError` stop a step without changing the run.
 */

export class AgentError extends Error {
  override name = "AgentError";
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
}

/** The model called a tool that does not exist, or with invalid arguments. */
export class AgentToolCallError extends AgentError {
  override name = "AgentToolCallError";
}

/** A tool threw while running. */
export class AgentToolExecutionError extends AgentError {
  override name = "AgentToolExecutionError";
}

/** Model-written code failed (CodeAgent). */
export class AgentExecutionError extends AgentError {
  override name = "AgentExecutionError";
}

/** The run used all its steps without a final answer. */
export class AgentMaxStepsError extends AgentError {
  override name = "AgentMaxStepsError";
}

/** The model could not produce a reply (network, 5xx after retries, bad credentials). Ends a `run()`. */
export class AgentGenerationError extends AgentError {
  override name = "AgentGenerationError";
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
  }
  readonly retryable: boolean;
}

/** A model backend call failed for good (after retries). */
export class ModelError extends Error {
  override name = "ModelError";
  readonly modelId: string | undefined;
  readonly status: number | undefined;
  /** True for failures that may succeed later (429, 5xx, timeouts, network). */
  readonly retryable: boolean;
  constructor(
    message: string,
    options: { modelId?: string; status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.modelId = options.modelId;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}

/** Something the deployer must fix (missing API key, unknown model backend...). */
export class ConfigurationError extends Error {
  override name = "ConfigurationError";
}

/** Input given to a paused run does not fit what it waits for. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
}
