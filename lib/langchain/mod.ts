/**
 * `@smolstep/smolstep/langchain`: LangChain tools as smolstep tools (`Tool.fromLangchain`, transformers-agents'
 * `Tool.from_langchain`). Duck-typed: this entry imports nothing from LangChain.
 *
 * @module
 */

import { Tool as CoreTool } from "../tools/tool.ts";
import { fromLangchain } from "./langchain_tool.ts";

export { fromLangchain, LangchainTool } from "./langchain_tool.ts";
export type { LangchainToolLike } from "./langchain_tool.ts";

/** The core `Tool` with `Tool.fromLangchain(tool)`. */
export abstract class Tool extends CoreTool {
  /** Adapts a LangChain structured tool; see `fromLangchain`. */
  static fromLangchain: typeof fromLangchain = fromLangchain;
}
