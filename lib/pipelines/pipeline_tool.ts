/**
 * `PipelineTool`: transformers-agents' tool built around a model. A call is `encode` (raw inputs -> model inputs,
 * the pre-processor's job), `forward` (the model), `decode` (model outputs -> the tool's output, the
 * post-processor's job); `setup()` resolves the checkpoints once, lazily, before the first call.
 */

import { ConfigurationError } from "../errors.ts";
import { Tool, type ToolContext } from "../tools/tool.ts";
import { validateToolArguments } from "../tools/tool_validation.ts";

export interface PipelineToolOptions {
  /** The model's checkpoint (a Hub repo id, or a local folder for local tools); default `defaultCheckpoint`. */
  model?: string;
  /** The pre-processor's checkpoint; default: `model`. */
  preProcessor?: string;
  /** The post-processor's checkpoint; default: `preProcessor`. */
  postProcessor?: string;
  /** Where the model runs (transformers.js / ONNX Runtime device, e.g. "cpu", "webgpu"); remote tools ignore it. */
  device?: string;
  /** A Hugging Face token (pass HF_TOKEN: the library never reads the environment). */
  token?: string;
}

/**
 * A tool whose work is a model call. Subclasses set `name`, `description`, `inputs`, `outputType` and
 * `defaultCheckpoint`, and implement `encode`, `forward` and `decode`; override `setup()` (calling
 * `super.setup()`) to load what is expensive. `call()` validates the arguments, awaits `setup()` once, then runs
 * `decode(await forward(await encode(args)))`, as transformers' `PipelineTool.__call__`. `encode` returns a record
 * (the model's named inputs, as transformers' pre-processors return a dict), declared with `type`, not `interface`,
 * so the tool stays assignable to `Tool`.
 */
export abstract class PipelineTool<
  Args extends Record<string, unknown>,
  Output,
  Encoded extends Record<string, unknown> = Record<string, unknown>,
  Raw = unknown,
> // deno-lint-ignore no-explicit-any
  extends Tool<any, any> {
  /** The checkpoint used when the caller names none. */
  abstract readonly defaultCheckpoint: string;
  /** The model's checkpoint; set by the constructor option or, in `setup()`, to `defaultCheckpoint`. */
  model: string | undefined;
  preProcessor: string | undefined;
  postProcessor: string | undefined;
  readonly device: string | undefined;
  readonly token: string | undefined;
  /** True once `setup()` has completed. */
  isInitialized = false;
  #ready: Promise<void> | undefined;

  constructor(options: PipelineToolOptions = {}) {
    super();
    this.model = options.model;
    this.preProcessor = options.preProcessor;
    this.postProcessor = options.postProcessor;
    this.device = options.device;
    this.token = options.token;
  }

  /** Resolves the checkpoints (model, then pre-processor from it, then post-processor from that). */
  override setup(): void | Promise<void> {
    this.model ??= this.defaultCheckpoint;
    if (!this.model) throw new ConfigurationError(`${this.name}: no model checkpoint and no defaultCheckpoint`);
    this.preProcessor ??= this.model;
    this.postProcessor ??= this.preProcessor;
  }

  /** Raw inputs (the validated arguments) to what `forward` takes. */
  abstract encode(args: Args): Encoded | Promise<Encoded>;
  /** Runs the model. */
  abstract override forward(inputs: Encoded, context: ToolContext): Raw | Promise<Raw>;
  /** The model's outputs to the tool's output. */
  abstract decode(outputs: Raw): Output | Promise<Output>;

  /** Validates, sets up once, then encode -> forward -> decode. Invalid arguments throw `AgentToolCallError`. */
  override async call(args: unknown, context: ToolContext = {}): Promise<Output> {
    const parsed = validateToolArguments(this.name, this.schema, this.#withoutNullOptionals(args), this.inputs);
    this.#ready ??= Promise.resolve(this.setup()).then(
      () => {
        this.isInitialized = true;
      },
      (error) => {
        this.#ready = undefined; // a failed setup (e.g. a download) may succeed on the next call
        throw error;
      },
    );
    await this.#ready;
    const encoded = await this.encode(parsed as Args);
    return await this.decode(await this.forward(encoded, context));
  }

  /** As `Tool.call`: a `null` for a nullable input counts as leaving it out. */
  #withoutNullOptionals(args: unknown): unknown {
    if (typeof args !== "object" || args === null || Array.isArray(args)) return args;
    return Object.fromEntries(
      Object.entries(args).filter(([name, value]) => !(value === null && this.inputs[name]?.nullable)),
    );
  }
}
