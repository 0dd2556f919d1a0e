import {
  type CallToolResult,
  ErrorCode,
  type JSONRPCMessage,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import type { AppContext } from "../../http/app_context.ts";
import { VERSION } from "../../version.ts";
import { type CallKeySource, callReplay } from "./mcp_idempotency.ts";
import type { ResumableCall } from "./mcp_resume.ts";
import {
  callAgent,
  callDirectTool,
  hasTool,
  listTools,
  progressNotification,
  type ProgressUpdate,
  stillRunning,
} from "./mcp_tools.ts";
import { isFollowLimit } from "../../runs/run_follower.ts";

/** How the server answers the requests of one HTTP POST. */
export interface DispatchOptions {
  ctx: AppContext;
  /** Also list and call the agents' own tools (those that allow direct calls). */
  exposeTools: boolean;
  /** `instructions` of the `initialize` result. */
  instructions?: string;
  /** The request's signal: a caller that goes away stops its runs. */
  signal: AbortSignal;
  /** Notes a run a `tools/call` created (the request's log line names it). */
  noteRun(runId: string): void;
  /** A resumable `tools/call` (./mcp_resume.ts): its run's id, and its cursor, kept up to date here. */
  resumable?: Omit<ResumableCall, "eventStore">;
  /** The POST's headers that name its calls for their retries (./mcp_idempotency.ts). */
  keys: CallKeySource;
  /** Sends a notification on the stream of the request `requestId`. */
  notify(message: JSONRPCMessage, requestId: string | number): Promise<void>;
}

type Id = string | number;
type Result = { result: Record<string, unknown> } | { error: { code: number; message: string } };

/**
 * Answers one JSON-RPC message of the MCP server's own methods (`initialize`, `ping`, `tools/list`, `tools/call`);
 * notifications and responses get nothing back, other methods `-32601`. No session is kept: every request carries
 * what it needs (stateless Streamable HTTP), so any instance answers any request.
 */
export async function dispatch(message: JSONRPCMessage, options: DispatchOptions): Promise<JSONRPCMessage | null> {
  if (!("method" in message) || !("id" in message)) return null; // a notification or a response: nothing to say
  const { id, method } = message;
  const params = (message.params ?? {}) as Record<string, unknown>;
  const answer = await answerRequest(id, method, params, options);
  return "error" in answer ? { jsonrpc: "2.0", id, error: answer.error } : { jsonrpc: "2.0", id, ...answer };
}

async function answerRequest(id: Id, method: string, params: Record<string, unknown>, options: DispatchOptions) {
  switch (method) {
    case "initialize":
      return { result: initializeResult(params, options) };
    case "ping":
      return { result: {} };
    case "tools/list":
      return { result: { tools: listTools(options.ctx, options.exposeTools) } };
    case "tools/call":
      return await callTool(id, params, options);
    default:
      return failure(ErrorCode.MethodNotFound, `Method not found: ${String(method).slice(0, 100)}`);
  }
}

function initializeResult(params: Record<string, unknown>, options: DispatchOptions) {
  const asked = params.protocolVersion;
  const supported = typeof asked === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(asked);
  return {
    protocolVersion: supported ? asked : LATEST_PROTOCOL_VERSION,
    capabilities: { tools: { listChanged: false } },
    serverInfo: { name: "smolstep", version: VERSION },
    ...(options.instructions ? { instructions: options.instructions } : {}),
  };
}

async function callTool(id: Id, params: Record<string, unknown>, options: DispatchOptions): Promise<Result> {
  const { ctx, exposeTools, signal } = options;
  const { name, arguments: args = {} } = params;
  if (typeof name !== "string") return failure(ErrorCode.InvalidParams, "tools/call needs params.name (a string).");
  if (!args || typeof args !== "object" || Array.isArray(args)) {
    return failure(ErrorCode.InvalidParams, "tools/call params.arguments must be an object.");
  }
  if (!hasTool(ctx, name, exposeTools)) return failure(ErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 100)}`);
  const input = args as Record<string, unknown>;
  if (!Object.hasOwn(ctx.options.agents, name)) return { result: await callDirectTool(ctx, name, input, signal) };
  const replay = ctx.runs ? callReplay(name, input, params._meta, options.keys) : undefined;
  if (typeof replay === "string") return failure(ErrorCode.InvalidParams, replay);
  const token = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
  const { resumable } = options;
  const cursor = resumable?.cursor;
  const progress = typeof token === "string" || typeof token === "number"
    ? (update: ProgressUpdate) => {
      // A resumable call's next event ids say how far its stream got (./mcp_event_ids.ts).
      if (cursor) Object.assign(cursor, { progress: update.progress, next: update.next ?? cursor.next });
      return options.notify(progressNotification(token, update), id);
    }
    : undefined;
  let runId = cursor?.runId;
  // The run that answers (a keyed call's may be another's than the cursor named): the next event ids name it.
  const noteRun = (id: string) => (runId = id, cursor && (cursor.runId = id), options.noteRun(id));
  // A resumable call names its new run before it exists, unless its key names one already.
  const newRunId = resumable && !resumable.replayed ? cursor?.runId : undefined;
  try {
    const result: CallToolResult = await callAgent(ctx, name, input, {
      signal,
      progress,
      noteRun,
      runId: newRunId,
      replay,
      readsSpent: resumable?.readsSpent,
    });
    return { result };
  } catch (error) {
    // At its read limit: a resumable call's stream closes before its result (the caller does it, and the client
    // comes back with GET /mcp); another call cannot come back, and is told where its run goes on.
    if (!isFollowLimit(error) || resumable || runId === undefined) throw error;
    return { result: stillRunning(runId, replay !== undefined) };
  }
}

function failure(code: number, message: string): Result {
  return { error: { code, message } };
}
