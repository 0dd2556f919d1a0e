/**
 * `fromLangchain(tool)`: transformers-agents' `Tool.from_langchain`. Adapts a LangChain structured tool
 * (`@langchain/core`'s `tool()`, `DynamicStructuredTool`, `StructuredTool`) by duck typing: `name`, `description`,
 * `schema` (a zod 4 schema or a JSON Schema object) and `invoke(args, config)` (or `call`). Nothing here imports
 * LangChain. The tool's own `invoke` validates the arguments again and runs it; its result is the observation.
 */

import * as z from "zod";
import { ConfigurationError } from "../errors.ts";
import { Tool, type ToolContext } from "../tools/tool.ts";
import { inputsFromJsonSchema, type ToolInputs, type ToolInputType } from "../tools/tool_inputs.ts";

/** What `fromLangchain` reads from a LangChain tool. */
export interface LangchainToolLike {
  name: string;
  description: string;
  /** A zod schema (zod 4) or a JSON Schema object; LangChain's plain `Tool` has none (one string `input`). */
  schema?: unknown;
  invoke?(input: unknown, config?: { signal?: AbortSignal }): Promise<unknown>;
  call?(input: unknown, config?: { signal?: AbortSignal }): Promise<unknown>;
}

function jsonSchemaOf(schema: unknown, name: string): Record<string, unknown> {
  if (schema === undefined) {
    return { type: "object", properties: { input: { type: "string", description: "The input" } }, required: ["input"] };
  }
  if (typeof schema === "object" && schema !== null && "_zod" in schema) {
    return z.toJSONSchema(schema as z.ZodType, { unrepresentable: "any", io: "input" }) as Record<string, unknown>;
  }
  if (typeof schema === "object" && schema !== null && "_def" in schema) {
    throw new ConfigurationError(
      `fromLangchain("${name}"): its schema is a zod 3 schema, which smolstep (zod 4) cannot read; ` +
        "give the LangChain tool a zod 4 schema or a JSON Schema object",
    );
  }
  if (typeof schema === "object" && schema !== null && (schema as { type?: unknown }).type === "object") {
    return schema as Record<string, unknown>;
  }
  throw new ConfigurationError(
    `fromLangchain("${name}"): schema must be a zod 4 object schema or a JSON Schema object`,
  );
}

/** A LangChain tool as a smolstep tool; `fromLangchain` builds it. */
export class LangchainTool extends Tool {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType = "string";
  /** The LangChain tool this calls. */
  readonly langchainTool: LangchainToolLike;
  readonly #plainInput: boolean;

  constructor(langchainTool: LangchainToolLike) {
    super();
    if (typeof langchainTool?.name !== "string" || typeof langchainTool.description !== "string") {
      throw new ConfigurationError("fromLangchain: expected a LangChain tool (with name and description)");
    }
    if (typeof langchainTool.invoke !== "function" && typeof langchainTool.call !== "function") {
      throw new ConfigurationError(`fromLangchain("${langchainTool.name}"): the tool has neither invoke() nor call()`);
    }
    // Names reach code as identifiers (CodeAgent); LangChain allows "-" and more.
    this.name = langchainTool.name.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_");
    this.description = langchainTool.description;
    this.inputs = inputsFromJsonSchema(jsonSchemaOf(langchainTool.schema, langchainTool.name));
    this.langchainTool = langchainTool;
    this.#plainInput = langchainTool.schema === undefined;
  }

  async forward(args: Record<string, unknown>, context: ToolContext): Promise<unknown> {
    const input = this.#plainInput ? args.input : args;
    const config = context.signal ? { signal: context.signal } : {};
    const tool = this.langchainTool;
    return await (tool.invoke ? tool.invoke(input, config) : tool.call!(input, config));
  }
}

/** Adapts a LangChain structured tool (duck-typed; no dependency on `@langchain/core`). */
export function fromLangchain(langchainTool: LangchainToolLike): LangchainTool {
  return new LangchainTool(langchainTool);
}
