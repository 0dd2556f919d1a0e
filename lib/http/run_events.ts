import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { DeltaRelay } from "../runs/delta_channel.ts";
import { isFinalStatus } from "../memory/agent_state.ts";
import { followRun, isFollowLimit, type RunFollowItem } from "../runs/run_follower.ts";
import { RunError } from "../runs/run_record.ts";
import type { RunService } from "../runs/run_service.ts";

/** How often the deltas heard while a stream waits are written. */
const DELTA_FLUSH_MS = 25;
/** The `retry:` of a stream that ends at its read limit: how soon an EventSource comes back. */
export const RECONNECT_AFTER_READS_MS = 1_000;

export interface EventStreamOptions {
  /** How often the store is read for new steps (default 500 ms). */
  pollMs?: number;
  /**
   * A stream ends after this long; clients reconnect with `Last-Event-ID` (default 25 s). The same for a resumed MCP
   * tool call (`GET /mcp`) that follows a background run: it closes before its result, and the client resumes it.
   */
  maxDurationMs?: number;
  /**
   * `POST /v1/chat/completions` streams: a comment line (`: keepalive`) after this long without a chunk, so proxies
   * do not close a stream whose step is slow (default 15 s).
   */
  keepAliveMs?: number;
  /**
   * At most this many reads of a run's record per request that follows it (this stream, `POST /v1/chat/completions`
   * and MCP `tools/call` following a background run, a resumed MCP call), each read a subrequest on Workers (50 per
   * request on the free plan). Then the request ends as its protocol lets the client go on: this stream closes with
   * a `retry:` hint (EventSource and the typed client reconnect with `Last-Event-ID`), a resumable MCP call's stream
   * closes before its result (the SDK client resumes it with `GET /mcp`), and a chat completion answers
   * `follow_limit_reached` naming the run. Default: no limit (the Workers entry sets 40).
   */
  maxReads?: number;
}

/**
 * `GET /v1/runs/{runId}/events`: Server-Sent Events of a run's step records. Each `step` event's id is the
 * record's index, so a client reconnecting with `Last-Event-ID` continues after it. The stream ends with an
 * `end` event (status, final answer, error) once the run has ended; `awaiting_input` is announced when it pauses.
 * The run is followed by `followRun` (lib/runs/run_follower.ts): the store is polled every `pollMs`, which works
 * the same on every runtime. `delta` events (no id: never replayed) carry the model deltas of the background step
 * in flight that `deltas` hears (this process's, see lib/runs/delta_channel.ts). A run that is gone ends the stream
 * without `end` (a reconnection is then 404 `run_not_found`). A stream that made its `maxReads` reads ends without
 * `end` too, with `retry:` ({@link RECONNECT_AFTER_READS_MS}): the client reconnects and goes on from its last id.
 */
export function streamRunEvents(
  c: Context,
  runs: RunService,
  runId: string,
  options: EventStreamOptions,
  deltas?: DeltaRelay,
) {
  const lastId = Number(c.req.header("Last-Event-ID") ?? c.req.query("after") ?? -1);
  const fromIndex = Number.isInteger(lastId) && lastId >= -1 ? lastId + 1 : 0;
  return streamSSE(c, async (stream) => {
    const stop = new AbortController();
    stream.onAbort(() => stop.abort());
    const timer = setTimeout(() => stop.abort(), options.maxDurationMs ?? 25_000);
    // Deltas are only queued by the relay's listener and written by this request's own loop: on Workers a step in
    // another request's context must not do I/O on this one's stream (workerd refuses I/O across requests).
    const follow = followRun(runs, runId, {
      signal: stop.signal,
      deltas,
      fromIndex,
      pollMs: options.pollMs ?? 500,
      deltaFlushMs: DELTA_FLUSH_MS,
      maxReads: options.maxReads,
    });
    try {
      for await (const item of follow) await writeEvent(stream, item);
    } catch (error) {
      if (isFollowLimit(error)) {
        await stream.write(`retry: ${RECONNECT_AFTER_READS_MS}\n\n`);
        return;
      }
      if (!(error instanceof RunError && error.code === "run_not_found")) throw error;
    } finally {
      clearTimeout(timer);
    }
  });
}

async function writeEvent(stream: SSEStreamingApi, item: RunFollowItem): Promise<void> {
  if (item.type === "delta") {
    await stream.writeSSE({ event: "delta", data: JSON.stringify(item.event) });
  } else if (item.type === "step") {
    await stream.writeSSE({ event: "step", id: String(item.index), data: JSON.stringify(item.step) });
  } else if (item.state.status === "awaiting_input") {
    await stream.writeSSE({ event: "awaiting_input", data: JSON.stringify(item.state.pendingInput ?? null) });
  } else if (isFinalStatus(item.state.status)) {
    const { status, finalAnswer, error } = item.state;
    await stream.writeSSE({ event: "end", data: JSON.stringify({ status, finalAnswer: finalAnswer ?? null, error }) });
  }
}
