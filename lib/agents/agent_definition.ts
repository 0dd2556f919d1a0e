import { ConfigurationError } from "../errors.ts";
import type { CodeExecutor } from "../executors/executor.ts";
import type { Model, ModelLike } from "../models/model.ts";
import type { Tool } from "../tools/tool.ts";
import type { Toolbox } from "../tools/toolbox.ts";
import type { AgentOptions } from "./agent_options.ts";
import { ManagedAgent } from "./managed_agent.ts";
import type { Agent, AgentDefinition } from "./step_types.ts";

export type { AgentDefinition } from "./step_types.ts";

/** What `fromJSON` needs besides the definition. */
export interface AgentDependencies {
  /** Every tool the definitions name (managed agents' tools included), as a list or by name. */
  tools: Tool[] | Record<string, Tool>;
  /** The model, or a function choosing one from the definition's `{class, modelId}`. */
  model: ModelLike | ((model: AgentDefinition["model"], agent: AgentDefinition) => ModelLike);
  /** The sandbox for CodeAgent definitions. */
  executor?: CodeExecutor;
  /**
   * The agent classes (or builders) by kind name, as definitions name them in `kind`: `{ ToolCallingAgent, CodeAgent }`.
   * Nothing is registered anywhere else: a kind not given here cannot be rebuilt.
   */
  kinds?: AgentKinds;
}

/** Builds an agent of one kind from its definition; the agent classes implement it as a static method. */
export interface AgentKind<A extends Agent = Agent> {
  fromDefinition(options: AgentOptions, definition: AgentDefinition, dependencies: AgentDependencies): A;
}

export type AgentKinds<A extends Agent = Agent> = Readonly<Record<string, AgentKind<A>>>;

/** Picks the named tools from the dependencies, with a clear error for a missing one. */
export function resolveTools(definition: AgentDefinition, dependencies: AgentDependencies): Tool[] {
  const byName = Array.isArray(dependencies.tools)
    ? Object.fromEntries(dependencies.tools.map((tool) => [tool.name, tool]))
    : dependencies.tools;
  return definition.tools.map((name) => {
    const tool = Object.hasOwn(byName, name) ? byName[name] : undefined;
    if (!tool) {
      throw new ConfigurationError(`Agent '${definition.name}' needs the tool '${name}', which was not given.`);
    }
    return tool;
  });
}

/** The model for a definition: the given one, or the factory's choice (see `modelFactory`). */
export function resolveModel(definition: AgentDefinition, dependencies: AgentDependencies): ModelLike {
  const model = dependencies.model;
  return isFactory(model)
    ? (model as (model: AgentDefinition["model"], agent: AgentDefinition) => ModelLike)(definition.model, definition)
    : model as ModelLike;
}

const FACTORY = Symbol.for("smolstep.modelFactory");

/** Marks a function as a model factory for `fromJSON` (a plain function would otherwise be taken as a model). */
export function modelFactory(
  factory: (model: AgentDefinition["model"], agent: AgentDefinition) => ModelLike,
): typeof factory {
  return Object.assign(factory, { [FACTORY]: true });
}

function isFactory(value: unknown): boolean {
  return typeof value === "function" && (value as unknown as Record<symbol, unknown>)[FACTORY] === true;
}

/** What `agentToJSON` reads of an agent. */
export interface DescribedAgent extends Agent {
  readonly model: Model;
  readonly toolbox: Toolbox;
  readonly instructions: string | undefined;
  readonly planningInterval: number | undefined;
  readonly maxContextTokens: number | undefined;
  readonly maxObservationChars: number;
  readonly toolTimeoutMs: number;
  readonly managedAgents: ReadonlyMap<string, ManagedAgent>;
}

export function agentToJSON(agent: DescribedAgent, extras: Partial<AgentDefinition>): AgentDefinition {
  const modelClass = agent.model.constructor?.name;
  return {
    kind: agent.kind,
    name: agent.name,
    description: agent.description,
    maxSteps: agent.maxSteps,
    ...(agent.instructions ? { instructions: agent.instructions } : {}),
    ...(agent.planningInterval ? { planningInterval: agent.planningInterval } : {}),
    ...(agent.maxContextTokens ? { maxContextTokens: agent.maxContextTokens } : {}),
    maxObservationChars: agent.maxObservationChars,
    toolTimeoutMs: agent.toolTimeoutMs,
    tools: agent.toolbox.names.filter((name) => name !== "final_answer"),
    model: { class: !modelClass || modelClass === "Object" ? "function" : modelClass, modelId: agent.model.modelId },
    managedAgents: [...agent.managedAgents.values()].map((managed) => ({
      name: managed.name,
      description: managed.description,
      ...(managed.additionalPrompting ? { additionalPrompting: managed.additionalPrompting } : {}),
      provideRunSummary: managed.provideRunSummary,
      agent: managed.agent.toJSON(),
    })),
    ...Object.fromEntries(Object.entries(extras).filter(([, value]) => value !== undefined)),
  };
}

/** Rebuilds an agent (and its managed agents) from its definition with the classes in `dependencies.kinds`. */
export function agentFromDefinition<A extends Agent>(
  definition: AgentDefinition,
  dependencies: AgentDependencies & { kinds: AgentKinds<A> },
): A {
  const kinds: AgentKinds<A> = dependencies.kinds;
  const kind = Object.hasOwn(kinds, definition.kind) ? kinds[definition.kind] : undefined;
  if (!kind) {
    throw new ConfigurationError(
      `Unknown agent kind '${definition.kind}': pass its class in \`kinds\` (known here: ${
        Object.keys(kinds).join(", ") || "none"
      }).`,
    );
  }
  const options: AgentOptions = {
    name: definition.name,
    description: definition.description,
    maxSteps: definition.maxSteps,
    instructions: definition.instructions,
    systemPrompt: definition.systemPrompt,
    planningInterval: definition.planningInterval,
    maxContextTokens: definition.maxContextTokens,
    maxObservationChars: definition.maxObservationChars,
    toolTimeoutMs: definition.toolTimeoutMs,
    tools: resolveTools(definition, dependencies),
    model: resolveModel(definition, dependencies),
    managedAgents: definition.managedAgents.map((managed) =>
      new ManagedAgent(agentFromDefinition(managed.agent, dependencies), {
        name: managed.name,
        description: managed.description,
        additionalPrompting: managed.additionalPrompting,
        provideRunSummary: managed.provideRunSummary,
      })
    ),
  };
  return kind.fromDefinition(options, definition, dependencies);
}
