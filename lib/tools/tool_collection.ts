import type { Tool } from "./tool.ts";

/**
 * Tools loaded together from one place (smolagents' `ToolCollection`): pass `collection.tools` to an agent. The
 * loaders live in their own entries so the core stays small: `ToolCollection.fromMcp` in `@smolstep/smolstep/mcp`,
 * `ToolCollection.fromHub` in `@smolstep/smolstep/hub`; each extends this class.
 */
export class ToolCollection {
  readonly tools: Tool[];

  constructor(tools: Iterable<Tool>) {
    this.tools = [...tools];
  }
}
