import * as z from "zod";
import type { CallToolResult, Tool as McpToolDefinition } from "@modelcontextprotocol/sdk/types.js";
import { AgentToolExecutionError } from "../errors.ts";
import { Tool, type ToolContext } from "../tools/tool.ts";
import { inputsFromZod, type ToolInputs, type ToolInputType } from "../tools/tool_inputs.ts";
import { withConnection } from "./mcp_connections.ts";
import type { McpServerParameters } from "./mcp_server.ts";
import { agentValueOfResult } from "./mcp_results.ts";

/** The SDK's own request timeout is replaced by the tool's time limit (the call's signal); this is only a backstop. */
const REQUEST_TIMEOUT_MS = 30 * 60_000;

export interface McpToolOptions {
  /** smolagents' `structured_output`: a tool with an `outputSchema` answers its `structuredContent` (an object). */
  structuredOutput?: boolean;
}

/**
 * A tool an MCP server offers. It holds only where the server is and the tool's definition: each call takes the
 * isolate's shared connection to the server (opening one when there is none, or when the server or its session went
 * away), so a run that is resumed elsewhere, after a restart, calls the same tool by name.
 *
 * Arguments are validated against the tool's `inputSchema` (as zod, through the usual tool validation). Results
 * become agent values (see `agentValueOfResult`); an `isError` result or a protocol error is an
 * `AgentToolExecutionError` whose message the model sees.
 */
export class McpTool extends Tool<Record<string, unknown>, unknown> {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType;
  /** The tool's name on the server (`name` is it made a valid identifier). */
  readonly remoteName: string;
  readonly #server: McpServerParameters;
  readonly #schema: z.ZodType<Record<string, unknown>>;
  readonly #structured: boolean;

  constructor(server: McpServerParameters, definition: McpToolDefinition, options: McpToolOptions = {}) {
    super();
    this.#server = server;
    this.remoteName = definition.name;
    this.name = identifier(definition.name);
    this.description = definition.description ?? definition.title ?? definition.name;
    this.#schema = schemaOf(definition.inputSchema);
    this.inputs = this.#schema instanceof z.ZodObject ? inputsFromZod(this.#schema) : {};
    this.#structured = Boolean(options.structuredOutput && definition.outputSchema);
    this.outputType = this.#structured ? "object" : "any";
  }

  override get schema(): z.ZodType<Record<string, unknown>> {
    return this.#schema;
  }

  async forward(args: Record<string, unknown>, context: ToolContext): Promise<unknown> {
    let result: CallToolResult;
    try {
      result = await this.#call(args, context);
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason;
      if (error instanceof AgentToolExecutionError) throw error;
      throw new AgentToolExecutionError(`MCP tool '${this.remoteName}' failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return agentValueOfResult(this.remoteName, result, this.#structured);
  }

  #call(args: Record<string, unknown>, context: ToolContext): Promise<CallToolResult> {
    const request = { name: this.remoteName, arguments: args };
    const options = { signal: context.signal, timeout: REQUEST_TIMEOUT_MS };
    return withConnection(
      this.#server,
      async (client) => await client.callTool(request, undefined, options) as CallToolResult,
      context.signal,
    );
  }
}

/** A valid identifier (CodeAgent calls tools as functions): other characters become `_`. */
function identifier(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/**
 * The tool's input schema as zod. As smolagents validates tool arguments, an argument the schema does not name is
 * refused: an object schema that says nothing of `additionalProperties` is read as `false`.
 */
function schemaOf(inputSchema: McpToolDefinition["inputSchema"]): z.ZodType<Record<string, unknown>> {
  const strict = inputSchema.additionalProperties === undefined
    ? { ...inputSchema, additionalProperties: false }
    : inputSchema;
  try {
    return z.fromJSONSchema(strict as z.core.JSONSchema.JSONSchema) as z.ZodType<Record<string, unknown>>;
  } catch {
    return z.record(z.string(), z.unknown());
  }
}
