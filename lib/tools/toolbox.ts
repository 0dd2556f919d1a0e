import { FinalAnswerTool } from "./final_answer_tool.ts";
import type { Tool } from "./tool.ts";
import { ConfigurationError } from "../errors.ts";
import { invalidNameReason, isValidName } from "./tool_name.ts";

/**
 * The agent's tools by name (transformers-agents' `Toolbox`). `final_answer` is always present.
 * Names must be unique: adding a second tool with a taken name throws (use `updateTool` to replace one).
 */
export class Toolbox {
  readonly #tools = new Map<string, Tool>();
  #version = 0;

  constructor(tools: Iterable<Tool> = []) {
    for (const tool of tools) this.addTool(tool);
    if (!this.#tools.has("final_answer")) this.#tools.set("final_answer", new FinalAnswerTool());
  }

  get tools(): ReadonlyMap<string, Tool> {
    return this.#tools;
  }

  /** Changes whenever a tool is added, replaced or removed (for caches of what is built from the tools). */
  get version(): number {
    return this.#version;
  }

  get names(): string[] {
    return [...this.#tools.keys()];
  }

  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  addTool(tool: Tool): void {
    checkToolName(tool.name);
    void tool.schema; // checks the inputs' types now, as smolagents does when a tool is made
    if (this.#tools.has(tool.name)) {
      throw new Error(`A tool named '${tool.name}' is already in the toolbox; names must be unique.`);
    }
    this.#tools.set(tool.name, tool);
    this.#version++;
  }

  updateTool(tool: Tool): void {
    checkToolName(tool.name);
    if (!this.#tools.has(tool.name)) throw new Error(`No tool named '${tool.name}' to update.`);
    this.#tools.set(tool.name, tool);
    this.#version++;
  }

  removeTool(name: string): void {
    if (!this.#tools.delete(name)) throw new Error(`No tool named '${name}' to remove.`);
    this.#version++;
  }

  /** Removes every tool except `final_answer`. */
  clearToolbox(): void {
    for (const name of this.#tools.keys()) if (name !== "final_answer") this.#tools.delete(name);
    this.#version++;
  }

  /** One line per tool: `- name: description` with its inputs and output type. */
  showToolDescriptions(): string {
    return [...this.#tools.values()].map((tool) =>
      `- ${tool.name}: ${tool.description}\n    Takes inputs: ${
        JSON.stringify(tool.inputs)
      }\n    Returns an output of type: ${tool.outputType}`
    ).join("\n");
  }
}

/** smolagents refuses a tool whose name is not an identifier or is a keyword (`is_valid_name`); so do we. */
function checkToolName(name: string): void {
  if (!isValidName(name)) throw new ConfigurationError(`Invalid tool name: ${invalidNameReason(name)}.`);
}
