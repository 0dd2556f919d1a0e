import { invalidNameReason, isValidName } from "../tools/tool_name.ts";
import * as z from "zod";
import { ConfigurationError } from "../errors.ts";
import type { AgentState } from "../memory/agent_state.ts";
import { memoryToMessages } from "../memory/memory_to_messages.ts";
import { textOf } from "../models/chat_message.ts";
import type { ToolDefinition } from "../models/chat_message.ts";
import type { Agent } from "./step_types.ts";

export interface ManagedAgentOptions {
  /** Name the manager calls it by (default: the agent's own name). */
  name?: string;
  /** What the manager is told it is for (default: the agent's description). */
  description?: string;
  /** Extra guidance appended to every task the manager hands over. */
  additionalPrompting?: string;
  /** Append a summary of the managed agent's steps to its answer. */
  provideRunSummary?: boolean;
}

/** Arguments of a managed-agent call, as the manager's model writes them. */
export interface ManagedCallArguments {
  task: string;
  additional_args?: Record<string, unknown> | null;
}

/** The inputs of a managed-agent call in order: where positional arguments go (`helper("task", {...})`). */
export const MANAGED_CALL_INPUTS: readonly string[] = Object.freeze(["task", "additional_args"]);

/** `ManagedCallArguments` as a schema (the manager's model sees it as JSON Schema). */
export const ManagedCallArgs: z.ZodType<ManagedCallArguments> = z.strictObject({
  task: z.string().min(1).describe("The task for this agent: long and detailed, with all the context it needs."),
  additional_args: z.record(z.string(), z.unknown()).nullable().optional().describe(
    "Optional values the agent can use (by name).",
  ),
});

/**
 * A managed-agent call's arguments as the model wrote them: named (`{task, additional_args?}`), or, as smolagents
 * accepts, the task alone as a plain string.
 */
export function parseManagedCallArgs(args: unknown): z.ZodSafeParseResult<ManagedCallArguments> {
  return ManagedCallArgs.safeParse(typeof args === "string" ? { task: args } : args ?? {});
}

/** `ManagedCallArgs` as JSON Schema, converted once (every step of a manager sends it). */
const MANAGED_CALL_PARAMETERS: Record<string, unknown> = (() => {
  const { $schema: _drop, ...parameters } = z.toJSONSchema(ManagedCallArgs) as Record<string, unknown>;
  return parameters;
})();

/**
 * An agent another agent can call like a tool (`task`, optional `additional_args`); transformers-agents'
 * `ManagedAgent`. Plain agents passed in `managedAgents` are wrapped with their own name and description.
 *
 * The call does not run the whole sub-run at once: the manager's state nests the sub-run and each invocation
 * steps it once, until it answers (see `MultiStepAgent.step`).
 */
export class ManagedAgent {
  readonly agent: Agent;
  readonly name: string;
  readonly description: string;
  readonly additionalPrompting: string | undefined;
  readonly provideRunSummary: boolean;

  constructor(agent: Agent, options: ManagedAgentOptions = {}) {
    this.agent = agent;
    this.name = options.name ?? agent.name;
    this.description = options.description ?? agent.description;
    this.additionalPrompting = options.additionalPrompting;
    this.provideRunSummary = options.provideRunSummary ?? false;
    if (!isValidName(this.name)) {
      throw new TypeError(`Invalid managed agent name: ${invalidNameReason(this.name)}.`);
    }
  }

  /** How the manager's model sees it: a tool taking `task` and optional `additional_args`. */
  toDefinition(): ToolDefinition {
    return {
      name: this.name,
      description:
        `A team member (managed agent). ${this.description} Give it a detailed task; it answers with a report.`,
      parameters: MANAGED_CALL_PARAMETERS,
    };
  }

  /** The task text the managed agent receives. */
  taskFor(task: string): string {
    return [
      `You are '${this.name}', a member of a team. Your manager gives you this task:`,
      "---",
      task,
      "---",
      "Work on it until you can answer. Your final answer is all your manager will see, so make it complete:",
      "1. the outcome in a few words; 2. the outcome in detail; 3. anything else the manager should know",
      "(also what you could not find or do).",
      ...(this.additionalPrompting ? [this.additionalPrompting] : []),
    ].join("\n");
  }

  /** Starts the nested run for one call; `now` is the manager's step clock (default `Date.now`). */
  start(task: string, additionalArgs?: Record<string, unknown> | null, now?: () => number): AgentState {
    return this.agent.start(this.taskFor(task), { additionalArgs: additionalArgs ?? undefined, now });
  }

  /** The observation the manager gets when the sub-run has ended. */
  report(state: AgentState): string {
    const answer = typeof state.finalAnswer === "string"
      ? state.finalAnswer
      : JSON.stringify(state.finalAnswer ?? null);
    const outcome = state.status === "succeeded" || state.status === "max_steps_error"
      ? answer
      : `(no answer: the run ended with status '${state.status}'${state.error ? `: ${state.error.message}` : ""})`;
    let text = `Here is the final answer from your managed agent '${this.name}':\n${outcome}`;
    if (this.provideRunSummary) {
      const summary = memoryToMessages(state, "", { summaryMode: true })
        .map((message) => `${message.role}: ${textOf(message.content)}`)
        .join("\n");
      text += `\n\nFor more detail, here is a summary of its work:\n<summary_of_work>\n${summary}\n</summary_of_work>`;
    }
    return text;
  }
}

/** Wraps plain agents and checks that every name is free (`taken`: the manager's own name and its tools). */
export function collectManagedAgents(
  entries: Array<ManagedAgent | Agent>,
  taken: (name: string) => boolean,
): Map<string, ManagedAgent> {
  const managed = new Map<string, ManagedAgent>();
  for (const entry of entries) {
    const wrapped = entry instanceof ManagedAgent ? entry : new ManagedAgent(entry);
    if (taken(wrapped.name) || managed.has(wrapped.name)) {
      throw new ConfigurationError(
        `Managed agent name '${wrapped.name}' is already taken: names must be unique across the agent, its tools and its managed agents.`,
      );
    }
    managed.set(wrapped.name, wrapped);
  }
  return managed;
}
