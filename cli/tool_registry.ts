/**
 * The tools `--tools` can name: the default web tools (lib/tools/web), the calculator, `user_input`, and the example
 * agents' tools (functions/example_tools.ts).
 */
import {
  calculatorTool,
  type EgressPolicy,
  type Tool,
  UserInputTool,
  VisitWebpageTool,
  WebSearchTool,
  WikipediaSearchTool,
} from "../lib/mod.ts";
import { currentTimeTool, reverseWordsTool, textStatsTool } from "../functions/example_tools.ts";
import { type ResearchEnv, webSearchFromEnv } from "../functions/server_options.ts";
import { InvalidInputError } from "../lib/errors.ts";

type ToolMaker = (env: ResearchEnv, egress: EgressPolicy) => Tool;

const TOOLS: Record<string, ToolMaker> = {
  web_search: (env, egress) => new WebSearchTool({ ...webSearchFromEnv(env), egress }),
  visit_webpage: (_env, egress) => new VisitWebpageTool({ egress }),
  wikipedia_search: (_env, egress) => new WikipediaSearchTool({ egress }),
  calculator: () => calculatorTool as unknown as Tool,
  user_input: () => new UserInputTool() as unknown as Tool,
  current_time: () => currentTimeTool as unknown as Tool,
  text_stats: () => textStatsTool as unknown as Tool,
  reverse_words: () => reverseWordsTool as unknown as Tool,
};

export const TOOL_NAMES: readonly string[] = Object.keys(TOOLS);

/** Tools that pause the run for a person, so only a tool-calling agent can use them. */
export const PAUSING_TOOLS = ["user_input"];

/** The named tools; an unknown name is an `InvalidInputError` listing the known ones. */
export function toolsByName(names: readonly string[], env: ResearchEnv, egress: EgressPolicy): Tool[] {
  const unknown = names.filter((name) => !Object.hasOwn(TOOLS, name));
  if (unknown.length) {
    throw new InvalidInputError(`Unknown tool(s) ${unknown.join(", ")}. Known tools: ${TOOL_NAMES.join(", ")}.`);
  }
  return [...new Set(names)].map((name) => TOOLS[name](env, egress));
}

/**
 * `tool` as it is, but asking for approval before every call (`--confirm-tools`). A view rather than a change, so
 * the module-level example tools stay as they are; methods run on the tool itself (its private fields).
 */
export function confirmed(tool: Tool): Tool {
  return new Proxy(tool, {
    get(target, property) {
      if (property === "needsApproval") return true;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
