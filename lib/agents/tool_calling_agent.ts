import * as z from "zod";
import { AgentToolCallError, AgentToolExecutionError, InvalidInputError } from "../errors.ts";
import type { PendingInput } from "../memory/agent_state.ts";
import { validateToolArguments } from "../tools/tool_validation.ts";
import { UserInputTool } from "../tools/user_input_tool.ts";
import { type ManagedAgent, parseManagedCallArgs } from "./managed_agent.ts";
import { invokeTool } from "./tool_invocation.ts";
import { textOf, type ToolDefinition } from "../models/chat_message.ts";
import { FINAL_ANSWER_TOOL_NAME } from "../tools/final_answer_tool.ts";
import type { AgentOptions } from "./agent_options.ts";
import { MultiStepAgent } from "./multi_step_agent.ts";
import { emptyAction, failedAction, usageOf } from "./step.ts";
import type { ActionFields, ActionOutcome, ManagedCall, StepContext } from "./step_types.ts";
import { fillPrompt, TOOL_CALLING_SYSTEM_PROMPT } from "./prompts/tool_calling_prompt.ts";
import { normaliseToolCalls, type ParsedToolCall, parseToolCallFromText } from "./tool_call_parsing.ts";
import {
  finalAnswerNotAloneError,
  joinObservations,
  stringifyObservation,
  toJsonValue,
  truncateContent,
  unknownToolError,
} from "./observations.ts";

/** Stop sequences that keep a text-only model from writing the observation itself. */
export const TOOL_CALLING_STOP_SEQUENCES: readonly string[] = Object.freeze(["Observation:", "Calling tools:"]);

type CallOutcome = { ok: true; value: unknown } | { ok: false; error: Error };

/**
 * Acts by calling tools (smolagents' ToolCallingAgent, transformers-agents' ReactJsonAgent): native tool calls when
 * the model makes them, otherwise a JSON blob parsed from the text. Several calls in one reply run concurrently.
 */
export class ToolCallingAgent extends MultiStepAgent {
  constructor(options: AgentOptions) {
    super(options);
  }

  get kind(): string {
    return "ToolCallingAgent";
  }

  /** Builds one from its definition (`fromJSON` with `kinds: { ToolCallingAgent }`). */
  static fromDefinition(options: AgentOptions): ToolCallingAgent {
    return new this(options);
  }

  /** Built from the tools, so rebuilt only when the toolbox changes (the rest is fixed at construction). */
  get systemPrompt(): string {
    return this.#forToolbox().systemPrompt;
  }

  #built: { version: number; systemPrompt: string; tools: ToolDefinition[] } | undefined;

  /** The system prompt and the tool definitions sent with every step, for the toolbox as it is now. */
  #forToolbox() {
    const { version } = this.toolbox;
    if (this.#built?.version === version) return this.#built;
    const systemPrompt = fillPrompt(this.systemPromptTemplate ?? TOOL_CALLING_SYSTEM_PROMPT, {
      tool_descriptions: this.toolbox.showToolDescriptions() + describeManagedAgents(this.managedAgents),
      instructions: this.instructions ? `\nAdditional instructions:\n${this.instructions}\n` : "",
    });
    const tools = [
      ...[...this.toolbox.tools.values()].map((tool) => tool.toDefinition()),
      ...[...this.managedAgents.values()].map((agent) => agent.toDefinition()),
    ];
    return this.#built = { version, systemPrompt, tools: Object.freeze(tools) as ToolDefinition[] };
  }

  protected async act(context: StepContext): Promise<ActionOutcome> {
    const { state, signal } = context;
    const reply = await this.generate(this.writeMemoryToMessages(state), {
      stopSequences: [...TOOL_CALLING_STOP_SEQUENCES],
      tools: this.#forToolbox().tools,
      toolChoice: "required",
      signal,
      observer: context.modelObserver,
      spans: context.spans,
      onDelta: context.onDelta,
    });
    const modelOutput = textOf(reply.content) || null;
    const replied: ActionFields = { ...emptyAction(), modelOutput, tokenUsage: usageOf(reply) };
    let calls: ParsedToolCall[];
    try {
      calls = reply.toolCalls?.length
        ? normaliseToolCalls(reply.toolCalls)
        : [parseToolCallFromText(modelOutput ?? "")];
    } catch (caught) {
      return failedAction(replied, caught);
    }
    const action = {
      ...replied,
      toolCalls: calls.map((call) => ({ id: call.id, name: call.name, arguments: call.arguments })),
    };
    try {
      return await this.#actOn(calls, action, context);
    } catch (caught) {
      return failedAction(action, caught);
    }
  }

  /** What the reply's calls do: the final answer, a pause for input, tool calls, managed agents' calls. */
  async #actOn(calls: ParsedToolCall[], action: ActionFields, context: StepContext): Promise<ActionOutcome> {
    const { additionalArgs } = context.state;
    if (calls.some((call) => call.name === FINAL_ANSWER_TOOL_NAME)) {
      if (calls.length > 1) {
        throw finalAnswerNotAloneError(calls.map((call) => call.name));
      }
      const answer = await this.#execute(calls[0], additionalArgs, context);
      const observations = truncateContent(stringifyObservation(answer), this.maxObservationChars);
      return { kind: "final", action: { ...action, observations }, answer: toJsonValue(answer) };
    }

    const managedCalls = calls.filter((call) => this.managedAgents.has(call.name)).map(toManagedCall);
    const toolCalls = calls.filter((call) => !this.managedAgents.has(call.name));
    const pending = await this.#pendingInputFor(toolCalls, additionalArgs);
    if (pending) {
      if (managedCalls.length) {
        throw new AgentToolCallError("Call managed agents in a step of their own, not with tools that need approval.");
      }
      return { kind: "pause", action, pending };
    }
    const ran = toolCalls.length ? await this.#runCalls(toolCalls, additionalArgs, context) : undefined;
    const done = ran ? { ...action, ...ran.fields } : action;
    if (ran?.error) return failedAction(done, ran.error);
    if (managedCalls.length) return { kind: "delegate", action: done, calls: managedCalls };
    return { kind: "continue", action: done };
  }

  /** Resumes a paused step: runs the approved calls, or records the rejection or the user's answer. */
  protected override async resumeAction(
    paused: ActionFields,
    pending: PendingInput,
    input: unknown,
    context: StepContext,
  ): Promise<ActionOutcome> {
    if (pending.kind === "question") {
      const parsed = z.strictObject({ answer: z.string() }).safeParse(input);
      if (!parsed.success) throw new InvalidInputError('The run waits for an answer: send {"answer": "..."}.');
      const observations = truncateContent(parsed.data.answer, this.maxObservationChars);
      return { kind: "continue", action: { ...paused, observations, actionOutput: parsed.data.answer } };
    }
    const parsed = z.strictObject({ approve: z.boolean(), reason: z.string().optional() }).safeParse(input);
    if (!parsed.success) {
      throw new InvalidInputError(
        'The run waits for a decision: send {"approve": true} or {"approve": false, "reason": "..."}.',
      );
    }
    if (!parsed.data.approve) {
      const reason = parsed.data.reason ? `: ${parsed.data.reason}` : ".";
      const observations = `The user rejected this action${reason} Do not repeat it unchanged.`;
      return { kind: "continue", action: { ...paused, observations, actionOutput: null } };
    }
    const calls = pending.toolCalls.map((call) => ({ id: call.id, name: call.name, arguments: call.arguments }));
    const ran = await this.#runCalls(calls, context.state.additionalArgs, context);
    const done = { ...paused, ...ran.fields };
    return ran.error ? failedAction(done, ran.error) : { kind: "continue", action: done };
  }

  /** A `user_input` call, or calls of tools that need approval, pause the step instead of running. */
  async #pendingInputFor(
    calls: ParsedToolCall[],
    additionalArgs: Record<string, unknown>,
  ): Promise<PendingInput | undefined> {
    // Plain loops: this runs for every step's calls, and nearly always finds nothing.
    for (const call of calls) {
      const tool = this.toolbox.get(call.name);
      if (!(tool instanceof UserInputTool)) continue;
      if (calls.length > 1) throw new AgentToolCallError("'user_input' must be called alone.");
      const { question } = validateToolArguments("user_input", tool.schema, call.arguments, tool.inputs) as {
        question: string;
      };
      return { kind: "question", question, callId: call.id };
    }
    for (const call of calls) {
      const tool = this.toolbox.get(call.name);
      if (!tool || !tool.needsApproval) continue;
      const args = substituteAdditionalArgs(call.arguments, additionalArgs);
      const needed = typeof tool.needsApproval === "function"
        ? await tool.needsApproval(validateToolArguments(tool.name, tool.schema, args, tool.inputs))
        : true;
      if (needed) {
        return { kind: "approval", toolCalls: calls.map(({ id, name, arguments: a }) => ({ id, name, arguments: a })) };
      }
    }
    return undefined;
  }

  /** Runs the calls concurrently; observations in call order; the first failure is the step's error. */
  async #runCalls(
    calls: ParsedToolCall[],
    additionalArgs: Record<string, unknown>,
    context: Pick<StepContext, "signal" | "blobs" | "spans">,
  ): Promise<{ fields: Pick<ActionFields, "observations" | "actionOutput">; error?: Error }> {
    // One call (the usual case) needs no Promise.all.
    const outcomes = calls.length === 1
      ? [await this.#outcomeOf(calls[0], additionalArgs, context)]
      : await Promise.all(calls.map((call) => this.#outcomeOf(call, additionalArgs, context)));
    const joined = joinObservations(outcomes.flatMap((outcome) => outcome.ok ? [outcome.value] : []));
    const observations = joined === null ? null : truncateContent(joined, this.maxObservationChars);
    const values = outcomes.map((outcome) => outcome.ok ? toJsonValue(outcome.value) : null);
    const failure = outcomes.find((outcome): outcome is { ok: false; error: Error } => !outcome.ok);
    if (failure && context.signal?.aborted) throw context.signal.reason;
    return { fields: { observations, actionOutput: values.length === 1 ? values[0] : values }, error: failure?.error };
  }

  /** Runs one call; its value, or what it threw as an `Error`. */
  async #outcomeOf(
    call: ParsedToolCall,
    additionalArgs: Record<string, unknown>,
    context: Pick<StepContext, "signal" | "blobs" | "spans">,
  ): Promise<CallOutcome> {
    try {
      return { ok: true, value: await this.#execute(call, additionalArgs, context) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  /** Runs one call; string arguments naming an additional argument are replaced by its value. */
  async #execute(
    call: ParsedToolCall,
    additionalArgs: Record<string, unknown>,
    { signal, blobs, spans }: Pick<StepContext, "signal" | "blobs" | "spans">,
  ): Promise<unknown> {
    const tool = this.toolbox.get(call.name);
    if (!tool) {
      throw unknownToolError(call.name, [...this.toolbox.names, ...this.managedAgents.keys()]);
    }
    const args = substituteAdditionalArgs(call.arguments, additionalArgs);
    try {
      return await invokeTool(tool, args, { signal, blobs, timeoutMs: this.toolTimeoutMs, spans, callId: call.id });
    } catch (error) {
      if (error instanceof AgentToolCallError) throw error;
      // The request was aborted: the step is abandoned and the run stays as it was (nothing is recorded).
      if (signal?.aborted) throw signal.reason;
      const message = error instanceof Error ? error.message : String(error);
      throw new AgentToolExecutionError(
        `Error when executing tool '${call.name}' with arguments ${JSON.stringify(call.arguments)}: ${message}`,
      );
    }
  }
}

function toManagedCall(call: ParsedToolCall): ManagedCall {
  const parsed = parseManagedCallArgs(call.arguments);
  if (!parsed.success) {
    throw new AgentToolCallError(
      `Invalid call to managed agent '${call.name}': give it {"task": "<a detailed task>"} (and optionally "additional_args").`,
    );
  }
  return {
    callId: call.id,
    agentName: call.name,
    task: parsed.data.task,
    additionalArgs: parsed.data.additional_args ?? undefined,
  };
}

function describeManagedAgents(managed: ReadonlyMap<string, ManagedAgent>): string {
  if (managed.size === 0) return "";
  const lines = [...managed.values()].map((agent) =>
    `- ${agent.name}: ${agent.description}\n    Takes inputs: {"task": string (required, detailed), "additional_args": object (optional)}\n    Returns: its final answer, as a report`
  );
  return `\n\nYou can also hand tasks to these team members (managed agents), called like tools:\n${lines.join("\n")}`;
}

function substituteAdditionalArgs(args: unknown, additionalArgs: Record<string, unknown>): unknown {
  if (typeof args === "string") return Object.hasOwn(additionalArgs, args) ? additionalArgs[args] : args;
  if (!args || typeof args !== "object" || Array.isArray(args)) return args;
  return Object.fromEntries(
    Object.entries(args).map((
      [key, value],
    ) => [key, typeof value === "string" && Object.hasOwn(additionalArgs, value) ? additionalArgs[value] : value]),
  );
}

/** transformers-agents' name for the tool-calling agent. */
export const ReactJsonAgent = ToolCallingAgent;
