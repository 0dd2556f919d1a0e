import { ConfigurationError } from "../errors.ts";
import type { CodeExecutor } from "../executors/executor.ts";
import type { ModelLike } from "../models/model.ts";
import type { Tool } from "../tools/tool.ts";
import type { AgentOptions } from "./agent_options.ts";
import type { CodeBlockTags } from "./code_parsing.ts";
import { ManagedAgent } from "./managed_agent.ts";
import type { MultiStepAgent } from "./multi_step_agent.ts";

/**
 * An agent's definition as JSON (`agent.toJSON()`), to store, diff or send. It names tools and the model but holds
 * no code and no secrets: `fromJSON` gets the tools, the model and the executor from the caller.
 */
export interface AgentDefinition {
  kind: string;
  name: string;
  description: string;
  maxSteps: number;
  instructions?: string;
  systemPrompt?: string;
  planningInterval?: number;
  maxContextTokens?: number;
  maxObservationChars: number;
  /** Time limit of a tool call without its own (ms); absent in definitions written before it existed (60 s). */
  toolTimeoutMs?: number;
  /** Tool names (`final_answer` is implied). */
  tools: string[];
  /** The model's class and id; keys, URLs and headers are never included. */
  model: { class: string; modelId?: string };
  managedAgents: Array<{
    name: string;
    description: string;
    additionalPrompting?: string;
    provideRunSummary: boolean;
    agent: AgentDefinition;
  }>;
  /** CodeAgent only. */
  authorizedImports?: string[];
  codeBlockTags?: CodeBlockTags;
  oneShot?: boolean;
}

/** What `fromJSON` needs besides the definition. */
export interface AgentDependencies {
  /** Every tool the definitions name (managed agents' tools included), as a list or by name. */
  tools: Tool[] | Record<string, Tool>;
  /** The model, or a function choosing one from the definition's `{class, modelId}`. */
  model: ModelLike | ((model: AgentDefinition["model"], agent: AgentDefinition) => ModelLike);
  /** The sandbox for CodeAgent definitions. */
  executor?: CodeExecutor;
}

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

type Builder = (options: AgentOptions, definition: AgentDefinition, dependencies: AgentDependencies) => MultiStepAgent;
const kinds = new Map<string, Builder>();

/** Lets `fromJSON` build agents of a kind (each agent class registers itself when its module loads). */
export function registerAgentKind(kind: string, build: Builder): void {
  kinds.set(kind, build);
}

export function agentToJSON(agent: MultiStepAgent, extras: Partial<AgentDefinition>): AgentDefinition {
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

export function agentFromJSON(definition: AgentDefinition, dependencies: AgentDependencies): MultiStepAgent {
  const build = kinds.get(definition.kind);
  if (!build) throw new ConfigurationError(`Unknown agent kind '${definition.kind}'.`);
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
      new ManagedAgent(agentFromJSON(managed.agent, dependencies), {
        name: managed.name,
        description: managed.description,
        additionalPrompting: managed.additionalPrompting,
        provideRunSummary: managed.provideRunSummary,
      })
    ),
  };
  return build(options, definition, dependencies);
}
