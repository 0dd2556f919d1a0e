import { invalidNameReason, isValidName } from "./tool_name.ts";
import * as z from "zod";
import type { ToolDefinition } from "../models/chat_message.ts";
import { inputsFromZod, type ToolInputs, type ToolInputType, zodFromInputs } from "./tool_inputs.ts";
import { validateToolArguments } from "./tool_validation.ts";
import { checkTimeoutMs } from "./tool_time_limit.ts";

/** Decides per call whether a human must approve it (method syntax keeps tools of any argument type assignable). */
export type ApprovalCheck<Args> = { check(args: Args): boolean | Promise<boolean> }["check"];

/** What a tool receives besides its arguments. */
export interface ToolContext {
  /**
   * Aborted when the call reaches its time limit (reason: a `TimeoutError`) or the step is cancelled (the
   * request's abort). Agents always pass one; honour it (pass it to `fetch`) so abandoned work stops.
   */
  signal?: AbortSignal;
}

/**
 * A function the agent can call. Subclass it as in smolagents (set `name`, `description`, `inputs`,
 * `outputType`, implement `forward`), or build one with `tool({...})`.
 *
 * `setup()` runs once, lazily, before the first call (load something expensive there, not in the constructor).
 */
export abstract class Tool<Args extends Record<string, unknown> = Record<string, unknown>, Output = unknown> {
  abstract readonly name: string;
  abstract readonly description: string;
  /** smolagents-style inputs; derived from `schema` when the tool was built from zod. */
  abstract readonly inputs: ToolInputs;
  abstract readonly outputType: ToolInputType;

  abstract forward(args: Args, context: ToolContext): Output | Promise<Output>;

  /**
   * Human in the loop: when true (or when the function says so for these arguments), a ToolCallingAgent pauses
   * the run in `awaiting_input` before calling this tool, until the call is approved or rejected.
   */
  needsApproval: boolean | ApprovalCheck<Args> = false;

  /**
   * Time limit of one call in milliseconds; unset, the agent's `toolTimeoutMs` applies (default 60 s). Past it the
   * call's signal aborts and the model sees a timeout error naming the tool and the limit.
   */
  timeoutMs: number | undefined = undefined;

  /**
   * Whether the server may run this tool outside a run (`POST /v1/tools/{name}`, the tool demo pages); default
   * true. Set false for tools that only make sense inside a run or must not be called without an agent.
   */
  directCalls = true;

  /** Override for one-time initialisation; awaited before the first `forward`. */
  setup(): void | Promise<void> {}

  #setupDone: Promise<void> | undefined;
  #schema: z.ZodType<Args> | undefined;

  /** The strict zod schema arguments are validated against. */
  get schema(): z.ZodType<Args> {
    return this.#schema ??= zodFromInputs(this.inputs) as unknown as z.ZodType<Args>;
  }

  /**
   * The JSON Schema of the arguments, as sent to models for native tool calling. As in smolagents, optional and
   * defaulted arguments are not `required` and say `nullable: true` (a `null` for one counts as leaving it out, see
   * `call`). Converting a zod schema costs more than the rest of a step's own work, and every step sends it: it is
   * computed once per schema and shared, so treat it as read-only.
   */
  get parameters(): Record<string, unknown> {
    return this.#schemaInfo().json;
  }

  #parameters: { schema: z.ZodType<Args>; json: Record<string, unknown>; optional: Set<string> } | undefined;

  #schemaInfo() {
    const schema = this.schema;
    if (this.#parameters?.schema !== schema) {
      // `io: "input"`: what a caller may send, so a defaulted argument is optional.
      const { $schema: _drop, ...json } = z.toJSONSchema(schema, { unrepresentable: "any", io: "input" }) as {
        properties?: Record<string, Record<string, unknown>>;
        required?: string[];
        [key: string]: unknown;
      };
      const required = new Set(json.required ?? []);
      const optional = new Set(Object.keys(json.properties ?? {}).filter((name) => !required.has(name)));
      for (const name of optional) json.properties![name] = { ...json.properties![name], nullable: true };
      this.#parameters = { schema, json, optional };
    }
    return this.#parameters;
  }

  #withoutNullOptionals(args: unknown): unknown {
    if (typeof args !== "object" || args === null || Array.isArray(args)) return args;
    const { optional } = this.#schemaInfo();
    const entries = Object.entries(args);
    if (!entries.some(([name, value]) => value === null && optional.has(name))) return args;
    return Object.fromEntries(entries.filter(([name, value]) => !(value === null && optional.has(name))));
  }

  toDefinition(): ToolDefinition {
    return { name: this.name, description: this.description, parameters: this.parameters };
  }

  /**
   * Validates the arguments, runs `setup()` once, then `forward`. Invalid arguments throw `AgentToolCallError`. A
   * `null` for an optional or defaulted argument (they are `nullable` in `parameters`) counts as leaving it out.
   */
  async call(args: unknown, context: ToolContext = {}): Promise<Output> {
    const parsed = validateToolArguments(this.name, this.schema, this.#withoutNullOptionals(args), this.inputs);
    this.#setupDone ??= Promise.resolve(this.setup());
    await this.#setupDone;
    return await this.forward(parsed, context);
  }
}

export interface ToolSpec<Schema extends z.ZodObject, Output> {
  name: string;
  description: string;
  /** A zod object schema; `.describe()` each field, the descriptions reach the model. */
  inputs: Schema;
  /** The output type name shown to the model (default "string"). */
  output?: ToolInputType;
  run(args: z.infer<Schema>, context: ToolContext): Output | Promise<Output>;
  setup?(): void | Promise<void>;
  /** Pause for a human decision before each call (or when the function returns true). */
  needsApproval?: boolean | ApprovalCheck<z.infer<Schema>>;
  /** Time limit of one call in milliseconds (default: the agent's `toolTimeoutMs`). */
  timeoutMs?: number;
  /** Allow `POST /v1/tools/{name}` and the tool demo page (default true). */
  directCalls?: boolean;
}

class FunctionTool<Schema extends z.ZodObject, Output> extends Tool<z.infer<Schema>, Output> {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType;
  readonly #spec: ToolSpec<Schema, Output>;
  readonly #strict: z.ZodType<z.infer<Schema>>;

  constructor(spec: ToolSpec<Schema, Output>) {
    super();
    if (!isValidName(spec.name)) {
      throw new TypeError(`Invalid tool name: ${invalidNameReason(spec.name)}.`);
    }
    this.#spec = spec;
    this.name = spec.name;
    this.description = spec.description;
    this.outputType = spec.output ?? "string";
    this.#strict = spec.inputs.strict() as unknown as z.ZodType<z.infer<Schema>>;
    this.needsApproval = spec.needsApproval ?? false;
    this.timeoutMs = checkTimeoutMs(spec.timeoutMs, `The timeoutMs of tool '${spec.name}'`);
    this.directCalls = spec.directCalls ?? true;
    this.inputs = inputsFromZod(spec.inputs);
  }

  override get schema(): z.ZodType<z.infer<Schema>> {
    return this.#strict;
  }

  override setup(): void | Promise<void> {
    return this.#spec.setup?.();
  }

  forward(args: z.infer<Schema>, context: ToolContext): Output | Promise<Output> {
    return this.#spec.run(args, context);
  }
}

/** Builds a tool from a zod input schema and a function. */
export function tool<Schema extends z.ZodObject, Output>(
  spec: ToolSpec<Schema, Output>,
): Tool<z.infer<Schema>, Output> {
  return new FunctionTool(spec);
}
