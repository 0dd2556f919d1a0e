import { AgentExecutionError, ConfigurationError } from "../errors.ts";
import { type CodeExecutor, formatObservation, type SandboxTool } from "../executors/executor.ts";
import { textOf } from "../models/chat_message.ts";
import type { AgentOptions, RunOptions } from "./agent_options.ts";
import {
  type CodeBlockTags,
  DEFAULT_CODE_BLOCK_TAGS,
  noCodeError,
  parseCodeAction,
  parseCodeBlobs,
} from "./code_parsing.ts";
import { MultiStepAgent } from "./multi_step_agent.ts";
import { emptyAction, failedAction, usageOf } from "./step.ts";
import type { ActionFields, ActionOutcome, ManagedCall, ManagedReport, StepContext } from "./step_types.ts";
import { clipText } from "../text_clip.ts";
import { toJsonValue, truncateContent } from "./observations.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { StepSpans } from "../tracing/step_spans.ts";
import { finalAnswerFromCode, invokeTool, namedFromPositional, toPlainValue } from "./tool_invocation.ts";
import { CODE_AGENT_SYSTEM_PROMPT, toolSignature } from "./prompts/code_agent_prompt.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { AgentDefinition, AgentDependencies } from "./agent_definition.ts";
import { MANAGED_CALL_INPUTS, type ManagedAgent, parseManagedCallArgs } from "./managed_agent.ts";
import { fillPrompt } from "./prompts/tool_calling_prompt.ts";
import {
  capVariables,
  DEFAULT_MAX_VARIABLE_BYTES,
  DEFAULT_MAX_VARIABLES_BYTES,
  tooLargeNote,
  type VariableCaps,
} from "./persisted_variables.ts";

export interface CodeAgentOptions extends AgentOptions {
  /**
   * The sandbox that runs the model's code: `createDenoQuickJSExecutor()` in Deno/Node, `new QuickJSExecutor({
   * wasm })` with the imported .wasm module on Workers. Create it once and share it; every step is isolated.
   */
  executor: CodeExecutor;
  /** Module names the code may import, as configured on the executor (shown to the model). */
  authorizedImports?: string[];
  /** transformers-agents' name for `authorizedImports`. */
  additionalAuthorizedImports?: string[];
  /** Tags around code in the model's reply (default `<code>`, `</code>`). */
  codeBlockTags?: CodeBlockTags;
  /**
   * transformers-agents' one-shot CodeAgent: the model writes the whole program once, it runs once, and its
   * final answer (or last output) ends the run.
   */
  oneShot?: boolean;
  /**
   * Largest variable kept in the run state between steps, in UTF-8 bytes of its JSON (default 100,000). A larger
   * one is dropped and the model is told so in the observation.
   */
  maxVariableBytes?: number;
  /** Largest total of the kept variables (default 250,000 bytes); the largest are dropped first. */
  maxVariablesBytes?: number;
}

/** Name under which a code action is recorded as a tool call, as smolagents records its python interpreter. */
export const CODE_TOOL_NAME = "javascript_interpreter";

/**
 * Acts by writing JavaScript (smolagents' CodeAgent, transformers-agents' ReactCodeAgent). The code runs in the
 * executor's sandbox with the tools as async functions; top-level plain-data variables are kept in the run state.
 */
export class CodeAgent extends MultiStepAgent {
  readonly executor: CodeExecutor;
  readonly authorizedImports: string[];
  readonly codeBlockTags: CodeBlockTags;
  readonly oneShot: boolean;
  readonly variableCaps: VariableCaps;

  constructor(options: CodeAgentOptions) {
    super(options);
    if (!options.executor) {
      throw new ConfigurationError(
        "A CodeAgent needs an `executor` (e.g. `createDenoQuickJSExecutor()`, or `new QuickJSExecutor({ wasm })` on Workers).",
      );
    }
    this.executor = options.executor;
    this.authorizedImports = options.authorizedImports ?? options.additionalAuthorizedImports ?? [];
    this.codeBlockTags = options.codeBlockTags ?? DEFAULT_CODE_BLOCK_TAGS;
    this.oneShot = options.oneShot ?? false;
    this.variableCaps = {
      maxVariableBytes: options.maxVariableBytes ?? DEFAULT_MAX_VARIABLE_BYTES,
      maxVariablesBytes: options.maxVariablesBytes ?? DEFAULT_MAX_VARIABLES_BYTES,
    };
  }

  get kind(): string {
    return "CodeAgent";
  }

  /** Builds one from its definition (`fromJSON` with `kinds: { CodeAgent }`); the executor comes from `dependencies`. */
  static fromDefinition(
    options: AgentOptions,
    definition: AgentDefinition,
    dependencies: AgentDependencies,
  ): CodeAgent {
    if (!dependencies.executor) {
      throw new ConfigurationError("Rebuilding a CodeAgent needs `executor` in the dependencies.");
    }
    return new this({
      ...options,
      executor: dependencies.executor,
      authorizedImports: definition.authorizedImports,
      codeBlockTags: definition.codeBlockTags,
      oneShot: definition.oneShot,
    });
  }

  /** Built from the tools, so rebuilt only when the toolbox changes (the rest is fixed at construction). */
  get systemPrompt(): string {
    const { version } = this.toolbox;
    if (this.#prompt?.version !== version) this.#prompt = { version, text: this.#buildSystemPrompt() };
    return this.#prompt.text;
  }

  #prompt: { version: number; text: string } | undefined;

  #buildSystemPrompt(): string {
    const [open, close] = this.codeBlockTags;
    return fillPrompt(this.systemPromptTemplate ?? CODE_AGENT_SYSTEM_PROMPT, {
      tool_signatures: [
        ...[...this.tools.values()].map(toolSignature),
        ...[...this.managedAgents.values()].map(managedSignature),
      ].join("\n\n"),
      authorized_imports: this.authorizedImports.length ? this.authorizedImports.join(", ") : "(none)",
      open,
      close,
      instructions: this.instructions ? `\nAdditional instructions:\n${this.instructions}\n` : "",
    });
  }

  protected override definitionExtras(): Partial<AgentDefinition> {
    return { authorizedImports: this.authorizedImports, codeBlockTags: this.codeBlockTags, oneShot: this.oneShot };
  }

  /** Stop before the model writes the observation itself. */
  get stopSequences(): string[] {
    return ["Observation:", "Calling tools:", this.codeBlockTags[1]];
  }

  protected override describeAdditionalArgs(args: Record<string, unknown>): string {
    return `You have been provided with these additional arguments, available in your code as variables of the same names:\n${
      JSON.stringify(args, null, 2)
    }`;
  }

  /** Asks the model for code and returns it without running it (transformers-agents' `returnGeneratedCode`). */
  override async generateCode(task: string, options: RunOptions = {}): Promise<string> {
    const { modelOutput } = await this.#askForCode(this.start(task, options), options);
    return parseCodeBlobs(modelOutput, this.codeBlockTags);
  }

  /** One model call: the reply, closing tag restored, and its token usage. */
  async #askForCode(
    state: AgentState,
    context: Omit<StepContext, "state">,
  ): Promise<Pick<ActionFields, "tokenUsage"> & { modelOutput: string }> {
    const reply = await this.generate(this.writeMemoryToMessages(state), {
      stopSequences: this.stopSequences,
      signal: context.signal,
      observer: context.modelObserver,
      spans: context.spans,
      onDelta: context.onDelta,
    });
    return { modelOutput: this.#closeTag(textOf(reply.content)), tokenUsage: usageOf(reply) };
  }

  protected async act(context: StepContext): Promise<ActionOutcome> {
    const { state } = context;
    const replied: ActionFields = { ...emptyAction(), ...await this.#askForCode(state, context) };
    let code: string, untagged: boolean;
    try {
      ({ code, untagged } = parseCodeAction(replied.modelOutput ?? "", this.codeBlockTags));
    } catch (caught) {
      return failedAction(replied, caught);
    }
    const callId = `call_${state.stepNumber + 1}`;
    const action: ActionFields = {
      ...replied,
      code,
      toolCalls: [{ id: callId, name: CODE_TOOL_NAME, arguments: code }],
    };
    try {
      return await this.#run(code, callId, action, context, untagged);
    } catch (caught) {
      return failedAction(action, caught);
    }
  }

  /** Runs the code in the sandbox and says what it did: an answer, an error, a managed agent's call, or output. */
  async #run(
    code: string,
    callId: string,
    action: ActionFields,
    context: StepContext,
    untagged: boolean,
  ): Promise<ActionOutcome> {
    const { state, signal, blobs } = context;
    // A managed-agent call ends the code at that call: its sub-run then runs, one step per invocation.
    const handover = new AbortController();
    let managedCall: ManagedCall | undefined;
    const tools = this.#sandboxTools(blobs, context.spans);
    for (const name of this.managedAgents.keys()) {
      tools[name] = (args) => {
        // `helper("task", {...})`: positions as in smolagents' prompt, `def helper(task, additional_args)`.
        const parsed = parseManagedCallArgs(namedFromPositional(name, MANAGED_CALL_INPUTS, args));
        if (!parsed.success) throw new Error(`Call ${name}({ task: "<a detailed task>" }).`);
        managedCall = {
          callId,
          agentName: name,
          task: parsed.data.task,
          additionalArgs: parsed.data.additional_args ?? undefined,
        };
        handover.abort();
        return new Promise(() => {});
      };
    }
    const result = await this.executor.execute(code, {
      variables: { ...state.additionalArgs, ...(state.variables ?? {}) },
      tools,
      signal: signal ? AbortSignal.any([signal, handover.signal]) : handover.signal,
    });
    // A reply without tags that does not compile was not code (smolagents' parse_code_blobs): nothing ran.
    if (untagged && result.error?.notCompiled) {
      return failedAction(
        { ...action, code: undefined, toolCalls: [] },
        noCodeError(action.modelOutput ?? code, this.codeBlockTags),
      );
    }
    const { variables, tooLarge } = capVariables(result.variables, state.additionalArgs, this.variableCaps);
    const sizeNote = tooLarge.length > 0 ? [tooLargeNote(tooLarge, this.variableCaps)] : [];
    if (managedCall) {
      const observations = [formatObservation({ ...result, error: undefined, output: undefined }), ...sizeNote]
        .join("\n");
      return { kind: "delegate", action: { ...action, observations }, calls: [managedCall], variables };
    }
    // Errors go on the step (fed back with the retry hint); the observation keeps what was printed before.
    const shown = result.error || result.finalAnswer ? { ...result, error: undefined, output: undefined } : result;
    const parts = [formatObservation(shown)];
    if (result.droppedVariables.length > 0) {
      parts.push(
        `Note: these variables hold values that cannot be kept for the next steps (functions, class instances...) and were dropped: ${
          result.droppedVariables.join(", ")
        }`,
      );
    }
    parts.push(...sizeNote);
    const observed: ActionFields = {
      ...action,
      observations: truncateContent(parts.join("\n"), this.maxObservationChars),
    };
    if (result.error) {
      const where = result.error.line ? ` at line ${result.error.line} (${codeLine(code, result.error.line)})` : "";
      const error = new AgentExecutionError(
        `Code execution failed${where}: ${result.error.name}: ${result.error.message}`,
      );
      return failedAction(observed, error, variables);
    }
    if (result.finalAnswer) {
      let answer: unknown; // a custom final_answer tool is called with the value
      try {
        answer = await finalAnswerFromCode(this.tools.get("final_answer"), result.finalAnswer.value, {
          signal,
          blobs,
          timeoutMs: this.toolTimeoutMs,
          spans: context.spans,
        });
      } catch (caught) {
        return failedAction(observed, caught, variables);
      }
      return { kind: "final", action: observed, answer: toJsonValue(answer), variables };
    }
    const output = toJsonValue(result.output);
    if (this.oneShot) return { kind: "final", action: observed, answer: output, variables };
    return { kind: "continue", action: { ...observed, actionOutput: output }, variables };
  }

  /** The answer also becomes the variable `<agent>_answer` for the next code steps. */
  protected override completeDelegation(
    waiting: ActionFields,
    reports: ManagedReport[],
    state: AgentState,
  ): ActionOutcome {
    const { action } = super.completeDelegation(waiting, reports, state);
    const answers = Object.fromEntries(reports.map((report) => [`${report.agentName}_answer`, report.answer]));
    const capped = capVariables({ ...(state.variables ?? {}), ...answers }, state.additionalArgs, this.variableCaps);
    const note = capped.tooLarge.length > 0 ? tooLargeNote(capped.tooLarge, this.variableCaps) : undefined;
    const observations = note ? `${action.observations ?? ""}\n${note}` : action.observations;
    return { kind: "continue", action: { ...action, observations }, variables: capped.variables };
  }

  #closeTag(text: string): string {
    const [open, close] = this.codeBlockTags;
    return text.includes(open) && !text.trimEnd().endsWith(close) ? `${text.trimEnd()}\n${close}` : text;
  }

  #sandboxTools(blobs?: BlobStorage, spans?: StepSpans): Record<string, SandboxTool> {
    const tools: Record<string, SandboxTool> = {};
    for (const [name, tool] of this.tools) {
      if (name === "final_answer") continue; // the sandbox provides its own, which ends the code at once
      const inputs = Object.keys(tool.inputs);
      tools[name] = async (args, { signal }) => {
        const named = namedFromPositional(name, inputs, args);
        return toPlainValue(await invokeTool(tool, named, { signal, blobs, timeoutMs: this.toolTimeoutMs, spans }));
      };
    }
    return tools;
  }
}

function managedSignature(agent: ManagedAgent): string {
  return [
    "/**",
    ` * Team member (managed agent): ${agent.description}`,
    " * Calling it ENDS your code at this call; its answer comes back as the observation and in the variable",
    ` * \`${agent.name}_answer\`. Call it last in your code block.`,
    " */",
    `declare function ${agent.name}(args: { task: string; additional_args?: Record<string, unknown> }): Promise<string>;`,
  ].join("\n");
}

function codeLine(code: string, line: number): string {
  const text = code.split("\n")[line - 1]?.trim() ?? "";
  return text.length > 120 ? clipText(text, 117, "...") : text;
}

/** transformers-agents' name for the step-by-step code agent. */
export const ReactCodeAgent = CodeAgent;
