import type { AgentDefinition, AgentDependencies, AgentKinds } from "./agent_definition.ts";
import { CodeAgent } from "./code_agent.ts";
import { MultiStepAgent } from "./multi_step_agent.ts";
import { ToolCallingAgent } from "./tool_calling_agent.ts";

/** The agent kinds smolstep ships, by the name `toJSON()` writes as `kind`. */
export const BUILTIN_AGENT_KINDS: AgentKinds<MultiStepAgent> = Object.freeze({ ToolCallingAgent, CodeAgent });

/**
 * `MultiStepAgent.fromJSON` with the built-in kinds (`ToolCallingAgent`, `CodeAgent`); `dependencies.kinds` adds
 * kinds of your own or replaces a built-in one of the same name.
 */
export function agentFromJSON(
  definition: AgentDefinition,
  dependencies: AgentDependencies & { kinds?: AgentKinds<MultiStepAgent> },
): MultiStepAgent {
  return MultiStepAgent.fromJSON(definition, {
    ...dependencies,
    kinds: { ...BUILTIN_AGENT_KINDS, ...dependencies.kinds },
  });
}
