import { calculatorTool } from "../calculator_tool.ts";
import type { Tool } from "../tool.ts";
import { UserInputTool } from "../user_input_tool.ts";
import type { EgressPolicy } from "../../net/egress.ts";
import { VisitWebpageTool, type VisitWebpageToolOptions } from "./visit_webpage_tool.ts";
import { WebSearchTool, type WebSearchToolOptions } from "./web_search_tool.ts";
import { WikipediaSearchTool, type WikipediaSearchToolOptions } from "./wikipedia_search_tool.ts";

/**
 * The agent option `addBaseTools` (smolagents' and transformers-agents' `add_base_tools`): `true` for the defaults,
 * or the base tools' options. `false` for a tool leaves it out.
 */
export interface BaseToolsOptions {
  /** Applies to every web tool unless its own options say otherwise (e.g. `{allowPrivateNetwork: true}` in tests). */
  egress?: EgressPolicy;
  webSearch?: WebSearchToolOptions | false;
  visitWebpage?: VisitWebpageToolOptions | false;
  wikipediaSearch?: WikipediaSearchToolOptions | false;
  /**
   * The `speech_to_text` tool, added when given: build it with `loadTool("speech_to_text", ...)` from the pipelines
   * entry (the core does not import it, so the core bundle does not carry a speech model client).
   */
  speechToText?: Tool;
  /** `user_input` (ToolCallingAgent only: code cannot pause for an answer); default true. */
  userInput?: boolean;
  /** `calculator`, smolstep's stand-in for smolagents' `python_interpreter` (ToolCallingAgent only); default true. */
  calculator?: boolean;
}

/**
 * The base tools for an agent kind. Both kinds get `web_search`, `visit_webpage`, `wikipedia_search` and
 * `speech_to_text` when given; a ToolCallingAgent also gets `calculator` (where smolagents adds
 * `python_interpreter` to a ToolCallingAgent only: a CodeAgent computes in its own code) and `user_input`.
 * `final_answer` is always in the toolbox.
 */
export function baseTools(kind: string, options: BaseToolsOptions | true = {}): Tool[] {
  const settings: BaseToolsOptions = options === true ? {} : options;
  const egress = settings.egress;
  const tools: Tool[] = [];
  if (settings.webSearch !== false) tools.push(new WebSearchTool({ egress, ...settings.webSearch }));
  if (settings.visitWebpage !== false) tools.push(new VisitWebpageTool({ egress, ...settings.visitWebpage }));
  if (settings.wikipediaSearch !== false) {
    tools.push(new WikipediaSearchTool({ egress, ...settings.wikipediaSearch }));
  }
  if (settings.speechToText) tools.push(settings.speechToText);
  if (kind !== "CodeAgent") {
    if (settings.calculator !== false) tools.push(calculatorTool as unknown as Tool);
    if (settings.userInput !== false) tools.push(new UserInputTool() as unknown as Tool);
  }
  return tools;
}
