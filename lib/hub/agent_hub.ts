/**
 * Agents on the Hub: `pushAgentToHub(agent, repoId)` uploads `agent.json` (the agent's `toJSON()` definition:
 * settings, tool names, the model's class and id; never keys, URLs or headers) and a README to a Space, as
 * smolagents' `agent.push_to_hub` does; `MultiStepAgent.fromHub(repoId, { tools, model })` downloads it and rebuilds
 * the agent with `agentFromJSON`. The definition is data, not code: tools, model and executor come from the caller.
 */

import type { AgentDependencies, AgentKinds } from "../agents/agent_definition.ts";
import { agentFromJSON } from "../agents/agent_kinds.ts";
import { MultiStepAgent as CoreMultiStepAgent } from "../agents/multi_step_agent.ts";
import type { AgentDefinition } from "../agents/step_types.ts";
import { ConfigurationError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { downloadSpaceFile, type HubOptions } from "./hub_http.ts";
import { pushSpaceFiles, type PushToHubOptions } from "./hub_push.ts";

export const AGENT_FILE = "agent.json";

/** Options of `MultiStepAgent.fromHub`: where to find it, and what `agentFromJSON` needs. */
export interface AgentFromHubOptions extends HubOptions, AgentDependencies {
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Agent kinds besides the built-in ones (ToolCallingAgent, CodeAgent). */
  kinds?: AgentKinds<CoreMultiStepAgent>;
}

/** The files an agent is pushed as: agent.json and README.md. */
export function agentFiles(agent: { toJSON(): AgentDefinition }): Record<string, string> {
  const definition = agent.toJSON();
  const readme = [
    "---",
    `title: ${JSON.stringify(definition.name)}`,
    "emoji: 🤖",
    "colorFrom: blue",
    "colorTo: green",
    "sdk: static",
    "pinned: false",
    "tags:",
    "- agent",
    "- smolstep",
    "---",
    "",
    `# ${definition.name}`,
    "",
    definition.description,
    "",
    `A smolstep ${VERSION} ${definition.kind} (tools: ${definition.tools.join(", ") || "none"}). Load it with`,
    "`MultiStepAgent.fromHub(repoId, { tools, model })` from `@smolstep/smolstep/hub`.",
    "",
  ].join("\n");
  return { [AGENT_FILE]: JSON.stringify(definition, null, 2) + "\n", "README.md": readme };
}

/** Uploads the agent's definition to the Space `repoId` (created if missing); returns the commit (or PR) URL. */
export function pushAgentToHub(
  agent: { toJSON(): AgentDefinition },
  repoId: string,
  options: PushToHubOptions = {},
): Promise<string> {
  return pushSpaceFiles(repoId, agentFiles(agent), {
    ...options,
    commitMessage: options.commitMessage ?? "Upload agent",
  });
}

/** Downloads an agent's definition from a Space and rebuilds it with the given tools, model and executor. */
export async function agentFromHub(repoId: string, options: AgentFromHubOptions): Promise<CoreMultiStepAgent> {
  const text = await downloadSpaceFile(repoId, AGENT_FILE, options);
  let definition: AgentDefinition;
  try {
    definition = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${AGENT_FILE} of '${repoId}' is not JSON.`);
  }
  if (typeof definition !== "object" || definition === null || typeof definition.kind !== "string") {
    throw new ConfigurationError(`${AGENT_FILE} of '${repoId}' is not an agent definition.`);
  }
  const { tools, model, executor, kinds } = options;
  return agentFromJSON(definition, { tools, model, executor, kinds });
}

/** The core `MultiStepAgent` with smolagents' `fromHub` (rebuilds any kind; use `pushAgentToHub` to push). */
export abstract class MultiStepAgent extends CoreMultiStepAgent {
  /** See `agentFromHub`. */
  static fromHub(repoId: string, options: AgentFromHubOptions): Promise<CoreMultiStepAgent> {
    return agentFromHub(repoId, options);
  }
}
