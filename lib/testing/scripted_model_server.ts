/**
 * A real OpenAI-compatible chat completions server on loopback that replays scripted replies, for tests and
 * benchmarks: your agents run offline, through the same HTTP client they use in production. Point any OpenAI
 * client at `server.url`. It listens with `Deno.serve` on Deno and `node:http` on Node (and Bun).
 *
 * ```ts
 * await using server = await startScriptedModelServer({ replies: ["Hi", toolCallReply("search", { q: "x" })] });
 * const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "test" });
 * ```
 */

import { sleep } from "../models/retry.ts";
import { cutAtStopSequences } from "../models/message_utils.ts";

export interface ScriptedToolCall {
  name: string;
  /** An object (sent as JSON) or a raw string (sent as is, e.g. invalid JSON). */
  arguments?: Record<string, unknown> | string;
  id?: string;
}

export interface ScriptedReplyObject {
  content?: string;
  toolCalls?: ScriptedToolCall[];
  /** Defaults to deterministic counts: see `approxTokens`. */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Reply with this HTTP error status and an OpenAI-style error body. */
  status?: number;
  /** Error message for `status` replies. */
  error?: string;
  /** Seconds, sent as the Retry-After header. */
  retryAfter?: number;
  /** Wait this long before replying (cut short, with a 503, when the server closes). */
  delayMs?: number;
  /** Default: "tool_calls" when there are tool calls, else "stop". */
  finishReason?: string;
  /** Reply as a server without `stop` support would: the request's stop sequences are not applied. */
  ignoreStop?: boolean;
}

/** Assistant text, or a full reply. */
export type ScriptedReply = string | ScriptedReplyObject;

type Message = { role: string; content: unknown; [key: string]: unknown };
type Tool = { type: string; function: { name: string; [key: string]: unknown } };

/** The JSON body of a chat completions request, loosely typed for assertions. */
export interface ScriptedRequestBody {
  model?: string;
  messages?: Message[];
  stop?: string | string[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: Tool[];
  [key: string]: unknown;
}

export interface ReceivedRequest {
  method: string;
  /** The full URL as received, query string included. */
  url: string;
  /** Path without the query string, e.g. "/v1/chat/completions". */
  path: string;
  /** Query parameters (the last value of a repeated name). */
  query: Record<string, string>;
  /** Header names lowercased. */
  headers: Record<string, string>;
  /** Parsed JSON body (`{}` for GET). */
  body: ScriptedRequestBody;
}

/** Computes a reply from the request; used whenever the queue is empty. */
export type ReplyHandler = (request: ReceivedRequest) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedModelServer extends AsyncDisposable {
  /** Base URL with `/v1`, e.g. "http://127.0.0.1:41234/v1" (an `apiBase`). */
  readonly url: string;
  /** Every request received, in order (completions and model listings). */
  readonly requests: ReceivedRequest[];
  /** The last chat completions (POST) request. */
  readonly lastRequest: ReceivedRequest | undefined;
  /** Number of queued replies not yet served. */
  readonly pending: number;
  /** Appends replies to the queue. */
  enqueue(...replies: ScriptedReply[]): void;
  /** Sets (or clears) the handler used when the queue is empty. */
  setHandler(handler: ReplyHandler | undefined): void;
  /** Clears queue, handler, recorded requests and id counters. */
  reset(): void;
  close(): Promise<void>;
}

export interface ScriptedModelServerOptions {
  /** Initial queue, or a handler computing every reply. */
  replies?: ScriptedReply[] | ReplyHandler;
  /** Listed by `GET /v1/models` (default "scripted-model"). */
  modelId?: string;
}

/** A reply that calls one tool. */
export function toolCallReply(
  name: string,
  args: Record<string, unknown> | string = {},
  id?: string,
): ScriptedReplyObject {
  return { toolCalls: [{ name, arguments: args, id }] };
}

/**
 * The default token estimate: characters / 4, rounded up. Prompt tokens count the text of all messages;
 * completion tokens count the content plus each tool call's name and JSON arguments.
 */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const CREATED = 1_700_000_000;

/** Starts the server on 127.0.0.1 with a free port. Close it (or `await using`) when done. */
export async function startScriptedModelServer(options: ScriptedModelServerOptions = {}): Promise<ScriptedModelServer> {
  const initial = options.replies;
  let queue = Array.isArray(initial) ? [...initial] : [];
  let handler = typeof initial === "function" ? initial : undefined;
  let requests: ReceivedRequest[] = [];
  let [callIds, completionIds] = [0, 0];
  const closing = new AbortController();
  const modelId = options.modelId ?? "scripted-model";

  const serve = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "");
    // Any POST path ending in /chat/completions is a completion (Azure's /openai/deployments/{name}/..., routers'
    // /{provider}/v1/...).
    const completion = req.method === "POST" && path.endsWith("/chat/completions");
    const route = completion ? "POST /chat/completions" : `${req.method} ${path.replace(/^\/v1/, "")}`;
    let body: ScriptedRequestBody = {};
    if (req.method === "POST") {
      try {
        body = await req.json();
      } catch {
        return errorResponse(400, "scripted model server: body is not JSON");
      }
    }
    const query = Object.fromEntries(url.searchParams);
    const received = { method: req.method, url: req.url, path, query, headers: Object.fromEntries(req.headers), body };
    requests.push(received);
    if (route === "GET /models") {
      return Response.json({ object: "list", data: [{ id: modelId, object: "model", created: CREATED }] });
    }
    if (route !== "POST /chat/completions") return errorResponse(404, `scripted model server: no route ${route}`);
    const next = queue.shift() ?? await handler?.(received);
    if (next === undefined) return errorResponse(500, "scripted model server: no reply left");
    const reply = typeof next === "string" ? { content: next } : next;
    const waited = await sleep(reply.delayMs ?? 0, closing.signal).then(() => true, () => false);
    if (!waited) return errorResponse(503, "scripted model server: closed");
    if (reply.status && reply.status >= 400) {
      const retryAfter = reply.retryAfter === undefined ? undefined : `${reply.retryAfter}`;
      return errorResponse(reply.status, reply.error ?? `scripted error ${reply.status}`, retryAfter);
    }
    const result = build(body, reply);
    return body.stream ? stream(body, result) : Response.json(result.json);
  };

  /** Applies `stop`, fills ids and usage, and renders the non-streaming JSON. */
  const build = (body: ScriptedRequestBody, reply: ScriptedReplyObject) => {
    const text = reply.content ?? null;
    const stop = reply.ignoreStop ? undefined : typeof body.stop === "string" ? [body.stop] : body.stop;
    const content = text && cutAtStopSequences(text, stop);
    const calls = reply.toolCalls?.map((call) => ({
      id: call.id ?? `call_${++callIds}`,
      type: "function",
      function: {
        name: call.name,
        arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}),
      },
    }));
    const prompt = (body.messages ?? []).map((m) => textOf(m.content)).join("");
    const output = (content ?? "") + (calls ?? []).map((c) => c.function.name + c.function.arguments).join("");
    const { prompt_tokens, completion_tokens } = reply.usage ??
      { prompt_tokens: approxTokens(prompt), completion_tokens: approxTokens(output) };
    const usage = { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
    const finish_reason = reply.finishReason ?? (calls && content === text ? "tool_calls" : "stop");
    const message = { role: "assistant", content, tool_calls: calls };
    const base = { id: `chatcmpl-${++completionIds}`, created: CREATED, model: body.model ?? modelId };
    const choice = { index: 0, message, finish_reason, logprobs: null };
    const json = { ...base, object: "chat.completion", choices: [choice], usage };
    return { base, content, calls, finish_reason, usage, json };
  };

  /** SSE: role, content in pieces, each tool call (name, then arguments in pieces), finish, usage, [DONE]. */
  const stream = (body: ScriptedRequestBody, r: ReturnType<typeof build>): Response => {
    const base = { ...r.base, object: "chat.completion.chunk" };
    const chunk = (delta: object, finish: string | null = null) => ({
      ...base,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    const chunks: object[] = [chunk({ role: "assistant", content: "" })];
    for (const content of split(r.content ?? "")) chunks.push(chunk({ content }));
    r.calls?.forEach(({ id, type, function: fn }, index) => {
      chunks.push(chunk({ tool_calls: [{ index, id, type, function: { name: fn.name, arguments: "" } }] }));
      for (const args of split(fn.arguments)) {
        chunks.push(chunk({ tool_calls: [{ index, function: { arguments: args } }] }));
      }
    });
    chunks.push(chunk({}, r.finish_reason));
    if (body.stream_options?.include_usage) chunks.push({ ...base, choices: [], usage: r.usage });
    const events = [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), "data: [DONE]\n\n"];
    const encoder = new TextEncoder();
    const sse = ReadableStream.from(events.map((event) => encoder.encode(event)));
    return new Response(sse, { headers: { "content-type": "text/event-stream" } });
  };

  const listener = await listen(serve);
  let closed: Promise<void> | undefined;
  const close = () => {
    closing.abort();
    return closed ??= listener.shutdown();
  };

  return {
    url: `http://127.0.0.1:${listener.port}/v1`,
    get requests() {
      return requests;
    },
    get lastRequest() {
      return requests.findLast((r) => r.method === "POST");
    },
    get pending() {
      return queue.length;
    },
    enqueue: (...replies) => void queue.push(...replies),
    setHandler: (fn) => void (handler = fn),
    reset: () => {
      [queue, requests, handler, callIds, completionIds] = [[], [], undefined, 0, 0];
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** An OpenAI-style error body, with an optional Retry-After (seconds). */
function errorResponse(status: number, message: string, retryAfter?: string): Response {
  const error = { message, type: status < 500 ? "invalid_request_error" : "server_error", param: null, code: null };
  return Response.json({ error }, { status, headers: retryAfter ? { "retry-after": retryAfter } : undefined });
}

/** The text of a message's content: a string, or the text parts of a part list. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  return Array.isArray(content) ? content.map((part) => typeof part?.text === "string" ? part.text : "").join("") : "";
}

/** Splits text into up to three non-empty pieces of similar length. */
function split(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3));
  return text.match(new RegExp(`[^]{1,${size}}`, "g")) ?? [];
}

/** A server on 127.0.0.1 with a free port. */
interface Listener {
  port: number;
  shutdown(): Promise<void>;
}

type DenoServe = (
  options: { hostname: string; port: number; onListen(address: { port: number }): void },
  handler: (request: Request) => Promise<Response>,
) => { shutdown(): Promise<void> };

/** `Deno.serve` where it exists, else `node:http` (Node, Bun). */
function listen(handler: (request: Request) => Promise<Response>): Promise<Listener> {
  const deno = (globalThis as { Deno?: { serve?: DenoServe } }).Deno;
  if (deno?.serve) {
    const serve = deno.serve;
    return new Promise((resolve) => {
      const server = serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen: ({ port }) => resolve({ port, shutdown: () => server.shutdown() }),
      }, handler);
    });
  }
  return listenNode(handler);
}

async function listenNode(handler: (request: Request) => Promise<Response>): Promise<Listener> {
  const http = await import("node:http");
  const server = http.createServer(async (req, res) => {
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : new Blob(chunks);
    const response = await handler(new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body }));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) { for await (const chunk of response.body) res.write(chunk); }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const shutdown = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { port, shutdown };
}
