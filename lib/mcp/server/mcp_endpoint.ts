import type { Context, Hono } from "hono";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { ErrorCode, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { type AppContext, DEFAULT_MAX_BODY_BYTES } from "../../http/app_context.ts";
import { MAX_BODY_WAIT_MS, readBodyWithin } from "../../http/body_deadline.ts";
import { HttpError } from "../../http/http_errors.ts";
import { parseJsonBounded } from "../../http/json_limits.ts";
import { isJsonContentType } from "../../http/request_body.ts";
import { dispatch } from "./mcp_dispatch.ts";
import { originAllowed } from "./mcp_origin.ts";
import { resumableCall, resumeToolCall } from "./mcp_resume.ts";
import { isFollowLimit } from "../../runs/run_follower.ts";

export interface McpEndpointOptions {
  path: string;
  exposeTools: boolean;
  instructions?: string;
}

/** A JSON-RPC error that answers no request (`id: null`), as the transport writes them. */
function rpcError(
  status: 400 | 403 | 404 | 405 | 408 | 413 | 415,
  code: number,
  message: string,
  headers = {},
): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers });
}

/**
 * `POST /mcp`: MCP's Streamable HTTP transport, stateless (the SDK's web-standard transport with no session id,
 * one per request). A request with `tools/call` is answered as Server-Sent Events (progress notifications, then
 * the result; keep-alive comments meanwhile), the others as JSON. Runs a tool call starts are ordinary runs (see
 * lib/http/run_to_answer.ts). `GET` with `Last-Event-ID` resumes a tool call's stream (./mcp_resume.ts); without it
 * `GET`, and `DELETE`, are 405: there is no session to stream to or to end.
 */
export function mountMcpEndpoint(app: Hono, ctx: AppContext, options: McpEndpointOptions): void {
  const maxSize = ctx.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tooLarge = () => rpcError(413, ErrorCode.InvalidRequest, `Request bodies are limited to ${maxSize} bytes.`);
  // A body must arrive within `maxBodyWaitMs` (lib/http/body_deadline.ts), else 408, and be at most `maxSize`,
  // else 413, each as a JSON-RPC error.
  const waitMs = ctx.options.maxBodyWaitMs ?? MAX_BODY_WAIT_MS;
  app.use(options.path, async (c, next) => {
    try {
      await readBodyWithin(c, waitMs, maxSize);
    } catch (error) {
      if (!(error instanceof HttpError) || (error.status !== 408 && error.status !== 413)) throw error;
      if (error.status === 413) return tooLarge();
      return rpcError(408, ErrorCode.ConnectionClosed, `Request Timeout: ${error.message}`);
    }
    await next();
  });
  const noSession = () =>
    rpcError(405, ErrorCode.ConnectionClosed, "Method not allowed: this MCP server is stateless (POST only).", {
      Allow: "POST",
    });
  const forbidden = () =>
    rpcError(403, ErrorCode.ConnectionClosed, "Forbidden: this Origin is not allowed (see the cors option).");
  app.get(options.path, async (c) => {
    const lastEventId = c.req.header("Last-Event-ID");
    if (!lastEventId) return noSession();
    if (!(await originAllowed(c, ctx.options.cors))) return forbidden();
    return await resumeToolCall(c, ctx, lastEventId) ??
      rpcError(404, ErrorCode.InvalidRequest, "Not found: no tool call of yours has this Last-Event-ID.");
  });
  app.delete(options.path, noSession);
  app.post(options.path, async (c) => {
    if (!(await originAllowed(c, ctx.options.cors))) return forbidden();
    if (!isJsonContentType(c.req.header("Content-Type") ?? "")) {
      return rpcError(415, ErrorCode.ConnectionClosed, "Unsupported Media Type: Content-Type must be application/json");
    }
    let body: unknown;
    try {
      body = parseJsonBounded(await c.req.text());
    } catch {
      return rpcError(400, ErrorCode.ParseError, "Parse error: the body is not JSON (or nests too deeply).");
    }
    return await answer(c, ctx, body, options);
  });
}

async function answer(c: Context, ctx: AppContext, body: unknown, options: McpEndpointOptions): Promise<Response> {
  const messages = Array.isArray(body) ? body : [body];
  const streams = messages.some((message) => (message as { method?: unknown } | null)?.method === "tools/call");
  // Its calls' idempotency keys may come from its headers (./mcp_idempotency.ts).
  const agentCalls = messages.filter((message) => {
    const { method, params } = (message ?? {}) as { method?: unknown; params?: { name?: unknown } };
    return method === "tools/call" && typeof params?.name === "string" &&
      Object.hasOwn(ctx.options.agents, params.name);
  });
  const keys = {
    header: c.req.header("Idempotency-Key"),
    authorization: c.req.header("Authorization"),
    batched: agentCalls.length > 1,
  };
  // A lone agent call of a recent client gets event ids it can resume from (./mcp_resume.ts).
  const resumable = streams ? await resumableCall(c, ctx, messages, keys) : undefined;
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: !streams,
    eventStore: resumable?.eventStore,
  });
  const pending: Promise<void>[] = [];
  const send = (message: JSONRPCMessage, relatedRequestId?: string | number) =>
    transport.send(message, { relatedRequestId }).catch(() => {}); // the caller went away: nothing to write to
  const signal = c.req.raw.signal;
  transport.onmessage = (message: JSONRPCMessage, extra?: { closeSSEStream?: () => void }) => {
    pending.push((async () => {
      let reply: JSONRPCMessage | null;
      try {
        const noteRun = (runId: string) => ctx.noteRun(c.req.raw, runId);
        reply = await dispatch(message, {
          ctx,
          signal,
          ...options,
          notify: send,
          noteRun,
          resumable,
          keys,
        });
      } catch (error) {
        if (!("id" in message) || !("method" in message)) return;
        // A resumable call at its read limit (Workers' subrequests): its stream closes before the result, and the
        // client resumes it with GET /mcp and Last-Event-ID (SEP-1699 polling), on any instance.
        if (isFollowLimit(error) && resumable && extra?.closeSSEStream) return extra.closeSSEStream();
        const text = signal.aborted ? "The request was cancelled." : `Internal error: ${(error as Error).message}`;
        reply = { jsonrpc: "2.0", id: message.id, error: { code: ErrorCode.InternalError, message: text } };
      }
      if (reply) await send(reply);
    })());
  };
  const response = await transport.handleRequest(c.req.raw, { parsedBody: body });
  // Every answer is written (or its caller gone) before the transport lets its streams and timers go; the
  // request's log line waits for them too (it names the run a `tools/call` started).
  const answered = Promise.all(pending).finally(() => transport.close());
  if (streams) ctx.stillAnswering.set(c.req.raw, answered.then(() => response.status, () => 500));
  return response;
}
