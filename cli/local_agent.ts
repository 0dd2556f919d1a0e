/**
 * The agent a local run uses: an example agent (`--agent`, functions/agents.ts) rebuilt around the command's model
 * and settings, or one built from `--tools` and `--agent-type`. Bad names and combinations are `InvalidInputError`s.
 */
import { createAgents } from "../functions/agents.ts";
import { egressFromEnv } from "../functions/server_options.ts";
import { agentFromJSON } from "../lib/agents/agent_kinds.ts";
import type { CodeExecutor } from "../lib/executors/executor.ts";
import { CodeAgent, type Model, type MultiStepAgent, type Tool, ToolCallingAgent } from "../lib/mod.ts";
import { InvalidInputError } from "../lib/errors.ts";
import { DEFAULT_TOOLS, type RunArguments } from "./arguments.ts";
import { confirmed, PAUSING_TOOLS, toolsByName } from "./tool_registry.ts";

type AgentArguments = Pick<
  RunArguments,
  "agent" | "tools" | "agentType" | "maxSteps" | "planningInterval" | "imports" | "confirmTools"
>;

export interface LocalAgentParts {
  model: Model;
  /** Built on first use: only a code agent needs the sandbox. */
  executor: () => CodeExecutor;
  env: Record<string, string | undefined>;
}

/** The example agents' names (for `--help` and messages), without building a sandbox. */
export function exampleAgentNames(env: Record<string, string | undefined>): string[] {
  const unused: CodeExecutor = { execute: () => Promise.reject(new Error("Only listed, never run.")) };
  return Object.keys(createAgents(env, { executor: unused }));
}

export function createLocalAgent(args: AgentArguments, parts: LocalAgentParts): MultiStepAgent {
  const agent = args.agent ? exampleAgent(args, parts) : builtAgent(args, parts);
  const pausing = [...agent.tools.keys()].some((name) => PAUSING_TOOLS.includes(name)) || args.confirmTools.length;
  if (pausing && agent.kind !== "ToolCallingAgent") {
    throw new InvalidInputError(
      "user_input and --confirm-tools need a tool-calling agent (--agent-type tool-calling): code cannot pause.",
    );
  }
  return agent;
}

function exampleAgent(args: AgentArguments, parts: LocalAgentParts): MultiStepAgent {
  const examples = createAgents(parts.env, { executor: lazyExecutor(parts.executor) });
  const example = examples[args.agent!];
  if (!example) {
    throw new InvalidInputError(`Unknown agent '${args.agent}'. Example agents: ${Object.keys(examples).join(", ")}.`);
  }
  const definition = example.toJSON();
  if (args.imports && definition.kind !== "CodeAgent") {
    throw new InvalidInputError(`--imports applies to a code agent; '${args.agent}' is a ${definition.kind}.`);
  }
  const tools = withConfirmation([...example.tools.values()].filter((tool) => tool.name !== "final_answer"), args);
  return agentFromJSON({
    ...definition,
    maxSteps: args.maxSteps ?? definition.maxSteps,
    planningInterval: args.planningInterval ?? definition.planningInterval,
    ...(args.imports ? { authorizedImports: args.imports } : {}),
  }, { tools, model: parts.model, executor: definition.kind === "CodeAgent" ? parts.executor() : undefined });
}

function builtAgent(args: AgentArguments, parts: LocalAgentParts): MultiStepAgent {
  const names = args.tools ?? DEFAULT_TOOLS;
  const tools = withConfirmation(toolsByName(names, parts.env, egressFromEnv(parts.env)), args);
  const common = {
    model: parts.model,
    tools,
    maxSteps: args.maxSteps,
    planningInterval: args.planningInterval,
  };
  if (args.agentType === "tool-calling") {
    if (args.imports) throw new InvalidInputError("--imports applies to a code agent (--agent-type code).");
    return new ToolCallingAgent(common);
  }
  return new CodeAgent({ ...common, executor: parts.executor(), authorizedImports: args.imports ?? [] });
}

/** The tools `--confirm-tools` names (or all) ask before each call; a name the agent lacks is refused. */
function withConfirmation(tools: Tool[], args: AgentArguments): Tool[] {
  const names = args.confirmTools;
  const all = names.includes("all");
  const unknown = names.filter((name) => name !== "all" && !tools.some((tool) => tool.name === name));
  if (unknown.length) {
    throw new InvalidInputError(
      `--confirm-tools: the agent has no tool ${unknown.join(", ")} (it has ${tools.map((t) => t.name).join(", ")}).`,
    );
  }
  return tools.map((tool) => all || names.includes(tool.name) ? confirmed(tool) : tool);
}

/** An executor that builds the real one on its first call, so listing the example agents starts no threads. */
function lazyExecutor(make: () => CodeExecutor): CodeExecutor {
  return { execute: (code, options) => make().execute(code, options) };
}
