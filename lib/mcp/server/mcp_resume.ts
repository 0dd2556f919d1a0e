/**
 * Resumable `tools/call` streams (MCP Streamable HTTP, "Resumability and Redelivery"), with no state between
 * requests. A `tools/call` of an agent, alone in its POST, from a client of protocol 2025-11-25 or later, with a
 * store, is resumable: its run's id is chosen before the run exists, and every SSE event of its stream (the priming
 * event the SDK's transport writes first, each progress notification, the result) carries an id saying where the
 * stream got to (./mcp_event_ids.ts). The official TS client, when such a stream drops before the result, reconnects
 * by itself with `GET /mcp` and `Last-Event-ID` (twice by default, after 1 s then 1.5 s); any instance answers it
 * here: it follows the same run (or steps it on, without a queue) and writes the progress notifications the client
 * missed, the ones after them, then the result with the original JSON-RPC request id.
 *
 * A resumable call's run is left going when its caller goes away (the caller may come back), as is a call's with an
 * idempotency key (./mcp_idempotency.ts: the same call sent again answers from it); others are cancelled. Only the
 * credentials the call was made with open its events. A request (the POST, or a GET resuming it) that has read the run
 * `events.maxReads` times (Workers' subrequest limit) closes its stream before the result, and the client comes back
 * with `GET /mcp` from its last event id (SEP-1699 polling: the SDK client reconnects after a clean close without
 * limit, 1 s later by default). A resumed stream that follows a background run closes the same way after
 * `events.maxDurationMs` (25 s by default), as `GET /v1/runs/{id}/events` does; one that steps its run (no queue) is
 * not cut mid-step. A run stepped in the request that finds the server at its `maxStepsInFlight` closes the stream the
 * same way, with `retry:` (the overload's Retry-After).
 *
 * A resumed stream never ends in a JSON-RPC error: the SDK client counts only a result as the request's answer, and
 * reconnects after any other end (every second, without limit). What ends a resumed call for good (its run not
 * found, an internal error) is a result with `isError`.
 */
import type { Context } from "hono";
import type { EventStore } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolResult,
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  type JSONRPCMessage,
} from "@modelcontextprotocol/sdk/types.js";
import type { AppContext } from "../../http/app_context.ts";
import { HttpError } from "../../http/http_errors.ts";
import { findRequestRun } from "../../http/request_replay.ts";
import { continueRunToAnswer, type StoredRunToAnswer } from "../../http/run_to_answer.ts";
import type { StepRecord } from "../../memory/step_records.ts";
import { sleep } from "../../models/retry.ts";
import { RunError, type RunRecord } from "../../runs/run_record.ts";
import { isFollowLimit } from "../../runs/run_follower.ts";
import { type CallCursor, eventIdKey, MAX_NAME_CHARS, readEventId, signEventId } from "./mcp_event_ids.ts";
import { type CallKeySource, callReplay } from "./mcp_idempotency.ts";
import {
  answerOf,
  describeStep,
  parseAgentArguments,
  progressNotification,
  type ProgressUpdate,
  RUN_ID_META,
  runStarted,
} from "./mcp_tools.ts";

/** The first protocol version whose clients take a priming event (an event id with empty data, SEP-1699). */
const RESUMABLE_SINCE = "2025-11-25";
/** A stream resumed before its call's run was written waits this many reads for it, this far apart. */
const RUN_WAIT_READS = 5;
const RUN_WAIT_MS = 500;
/** A comment this often keeps a resumed stream open through proxies (as the SDK's transport does). */
const KEEP_ALIVE_MS = 15_000;
/** How long a resumed stream follows a background run, without `events.maxDurationMs` (as `GET .../events`). */
const DEFAULT_MAX_DURATION_MS = 25_000;

/** A resumable call: its cursor (kept up to date by the dispatch) and the event store that names its events. */
export interface ResumableCall {
  cursor: CallCursor;
  eventStore: EventStore;
  /**
   * Whether the cursor names a run the call's idempotency key already names (./mcp_idempotency.ts): the call answers
   * from it. Otherwise the cursor's run id is the new run's.
   */
  replayed: boolean;
  /** Reads of the store made to find that run (they count against `events.maxReads`). */
  readsSpent: number;
}

const isName = (value: unknown): value is string | number =>
  typeof value === "number" || (typeof value === "string" && value.length <= MAX_NAME_CHARS);

/**
 * Whether the POST `messages` is a resumable `tools/call` (see the module's comment), and if so its event ids. A call
 * with an idempotency key that already names a run gets that run's id: its events (the first, the priming event,
 * is written before the call is answered) name the run it will answer from.
 */
export async function resumableCall(
  c: Context,
  ctx: AppContext,
  messages: unknown[],
  keys: CallKeySource,
): Promise<ResumableCall | undefined> {
  const version = c.req.header("mcp-protocol-version") ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
  if (messages.length !== 1 || !ctx.runs || version < RESUMABLE_SINCE) return undefined;
  const { method, id, params } = (messages[0] ?? {}) as { method?: unknown; id?: unknown; params?: unknown };
  const { name, arguments: args = {}, _meta: meta } = (params ?? {}) as Record<string, unknown>;
  if (method !== "tools/call" || !isName(id) || typeof name !== "string") return undefined;
  if (!Object.hasOwn(ctx.options.agents, name) || !args || typeof args !== "object" || Array.isArray(args)) {
    return undefined;
  }
  // Arguments the tool refuses start no run: nothing to resume.
  if (!parseAgentArguments(args as Record<string, unknown>).success) return undefined;
  const progressToken = (meta as { progressToken?: unknown } | undefined)?.progressToken;
  if (progressToken !== undefined && !isName(progressToken)) return undefined;
  // A malformed key is refused by the dispatch, without a run.
  const replay = callReplay(name, args as Record<string, unknown>, meta, keys);
  if (typeof replay === "string") return undefined;
  const found = replay ? await findRequestRun(ctx.runs, name, replay) : undefined;
  const cursor: CallCursor = { runId: found ?? crypto.randomUUID(), requestId: id, progressToken, progress: -1 };
  const key = eventIdKey(ctx.options, c.req.header("Authorization"));
  return {
    cursor,
    replayed: found !== undefined,
    readsSpent: replay ? 1 : 0,
    eventStore: {
      // Each event's id is where the stream is as it is written (the dispatch moves the cursor on).
      storeEvent: () => signEventId(cursor, key),
      replayEventsAfter: () => Promise.reject(new Error("A resumed stream is answered by resumeToolCall.")),
    },
  };
}

/**
 * `GET /mcp` with `Last-Event-ID`: the rest of the tool call's stream as Server-Sent Events, or null when the id is
 * not one of this server's or was issued to other credentials (the caller answers 404).
 */
export async function resumeToolCall(c: Context, ctx: AppContext, lastEventId: string): Promise<Response | null> {
  const key = eventIdKey(ctx.options, c.req.header("Authorization"));
  const cursor = ctx.runs ? await readEventId(lastEventId, key) : null;
  if (!cursor) return null;
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const write = (text: string) => {
    if (!open) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      open = false; // the caller went away
    }
  };
  const keepAlive = setInterval(() => write(": keepalive\n\n"), KEEP_ALIVE_MS);
  const body = new ReadableStream<Uint8Array>({
    start: (streamController) => void (controller = streamController),
    cancel: () => void (open = false, clearInterval(keepAlive)),
  });
  // First the id it resumed from, so a client that loses this stream too before its next event still has one.
  write(`id: ${lastEventId}\ndata: \n\n`);
  const send = async (message: JSONRPCMessage) => {
    write(`event: message\nid: ${await signEventId(cursor, key)}\ndata: ${JSON.stringify(message)}\n\n`);
  };
  const signal = c.req.raw.signal;
  // Ends a follow after `events.maxDurationMs` as its read limit does (the stream closes, the client comes back).
  const duration = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limitDuration = () => {
    const message = `This stream followed the run '${cursor.runId}' for events.maxDurationMs; the run goes on.`;
    const maxDurationMs = ctx.options.events?.maxDurationMs ?? DEFAULT_MAX_DURATION_MS;
    timer = setTimeout(() => duration.abort(new RunError("follow_limit_reached", message)), maxDurationMs);
  };
  const following = AbortSignal.any([signal, duration.signal]);
  const answered = (async () => {
    try {
      const noteRun = (runId: string) => ctx.noteRun(c.req.raw, runId);
      await send(await resumedReply(ctx, cursor, following, send, noteRun, limitDuration));
    } catch (error) {
      // A caller that went away (its run goes on) has nothing to write to. At the request's read limit the stream
      // just closes, and at the server's most steps in flight it closes with `retry:`: the client comes back from its
      // last event id. Others are told, with a result (see the module's comment).
      if (error instanceof HttpError && error.code === "overloaded") {
        write(`retry: ${Number(error.headers["Retry-After"] ?? 1) * 1000}\n\n`);
      } else if (!signal.aborted && !isFollowLimit(error)) {
        await send(failed(cursor, `Internal error: ${(error as Error).message}`));
      }
    } finally {
      clearTimeout(timer);
      clearInterval(keepAlive);
      if (open) controller.close();
      open = false;
    }
  })();
  ctx.stillAnswering.set(c.req.raw, answered.then(() => 200));
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}

/** The resumed call's progress notifications (through `send`), then its answer to the original request. */
async function resumedReply(
  ctx: AppContext,
  cursor: CallCursor,
  signal: AbortSignal,
  send: (message: JSONRPCMessage) => Promise<void>,
  noteRun: (runId: string) => void,
  limitDuration: () => void,
): Promise<JSONRPCMessage> {
  const { requestId: id, progressToken: token, runId } = cursor;
  const { record, reads } = await findRun(ctx, cursor, signal);
  if (!record) {
    const message = `The run of this tool call ('${runId}') was not found: it started none (it failed first, or ` +
      "its server stopped), or the run is gone. Call the tool again.";
    return failed(cursor, message);
  }
  noteRun(runId);
  // A background run is followed for `events.maxDurationMs` at most (a step in this request is never cut).
  if (record.background) limitDuration();
  let run: StoredRunToAnswer;
  try {
    // The reads that found the run count against the request's `events.maxReads`.
    run = continueRunToAnswer(ctx, record, { signal, onAbort: "leave", readsSpent: reads });
  } catch (error) {
    // No place among the steps in flight: the stream closes, and the client comes back (see the caller).
    if (error instanceof HttpError && error.code === "overloaded") throw error;
    return failed(cursor, `The run could not go on: ${(error as Error).message}`);
  }
  const progress = token === undefined ? undefined : async (update: ProgressUpdate) => {
    Object.assign(cursor, { progress: update.progress, next: update.next ?? cursor.next });
    await send(progressNotification(token, update));
  };
  let progressed = Math.max(cursor.progress, 0);
  if (progress) {
    // What the client missed: progress 0 (if it had not got it), the step records since its last one.
    if (cursor.progress < 0) {
      await progress({ progress: 0, message: runStarted(runId), meta: { [RUN_ID_META]: runId } });
    }
    const { steps } = record.state;
    for (let i = cursor.next ?? firstStepIndex(steps); i < steps.length; i++) {
      await progress({ progress: ++progressed, message: describeStep(steps[i]), next: i + 1 });
    }
  }
  return { jsonrpc: "2.0", id, result: await answerOf(run, { signal, progress, progressed }) };
}

/** The final answer `isError` with `text` to the resumed call (a result: the SDK client then stops reconnecting). */
function failed({ requestId, runId }: CallCursor, text: string): JSONRPCMessage {
  const result: CallToolResult = { content: [{ type: "text", text }], isError: true, _meta: { [RUN_ID_META]: runId } };
  return { jsonrpc: "2.0", id: requestId, result };
}

/** The call's run; one resumed from before its first progress may not be written yet, so it is waited for. */
async function findRun(
  ctx: AppContext,
  cursor: CallCursor,
  signal: AbortSignal,
): Promise<{ record?: RunRecord; reads: number }> {
  const runs = ctx.requireRuns();
  for (let read = 1;; read++) {
    const found = await runs.get(cursor.runId);
    if (found || cursor.progress >= 0 || read >= RUN_WAIT_READS) return { record: found?.record, reads: read };
    await sleep(RUN_WAIT_MS, signal);
  }
}

/** The first step record a tool call reports: the first after the run's task (a call's run starts with one). */
function firstStepIndex(steps: StepRecord[]): number {
  const index = steps.findIndex((step) => step.type !== "task");
  return index < 0 ? steps.length : index;
}
