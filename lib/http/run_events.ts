import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { DeltaEvent } from "../agents/agent_events.ts";
import type { DeltaRelay } from "../runs/delta_channel.ts";
import type { RunService } from "../runs/run_service.ts";

/** How often the deltas heard while a stream waits are written. */
const DELTA_FLUSH_MS = 25;

export interface EventStreamOptions {
  /** How often the store is read for new steps (default 500 ms). */
  pollMs?: number;
  /** A stream ends after this long; clients reconnect with `Last-Event-ID` (default 25 s). */
  maxDurationMs?: number;
  /**
   * `POST /v1/chat/completions` streams: a comment line (`: keepalive`) after this long without a chunk, so proxies
   * do not close a stream whose step is slow (default 15 s).
   */
  keepAliveMs?: number;
}

/**
 * `GET /v1/runs/{runId}/events`: Server-Sent Events of a run's step records. Each `step` event's id is the
 * record's index, so a client reconnecting with `Last-Event-ID` continues after it. The stream ends with an
 * `end` event (status, final answer, error) once the run has ended; `awaiting_input` is announced when it pauses.
 * The store is polled, which works the same on every runtime. `delta` events (no id: never replayed) carry the model
 * deltas of the background step in flight that `deltas` hears (this process's, see lib/runs/delta_channel.ts).
 */
export function streamRunEvents(
  c: Context,
  runs: RunService,
  runId: string,
  options: EventStreamOptions,
  deltas?: DeltaRelay,
) {
  const pollMs = options.pollMs ?? 500;
  const deadline = Date.now() + (options.maxDurationMs ?? 25_000);
  const lastId = Number(c.req.header("Last-Event-ID") ?? c.req.query("after") ?? -1);
  let next = Number.isInteger(lastId) && lastId >= -1 ? lastId + 1 : 0;
  // Deltas heard are only queued here, and written by this request's own loop: on Workers a step in another
  // request's context must not do I/O on this one's stream (workerd refuses I/O across requests).
  const heard: DeltaEvent[] = [];
  // The last action step the stream has sent: a delta of it or an earlier step comes late (a relay between
  // processes may deliver one after the step's commit) and is dropped, so deltas only ever precede their step.
  let sentStepNumber = 0;
  return streamSSE(c, async (stream) => {
    const stopListening = deltas?.subscribe(runId, (event) => void heard.push(event));
    try {
      await followRun(stream);
    } finally {
      stopListening?.();
    }
  });

  async function writeDeltas(stream: SSEStreamingApi, events = heard.splice(0)) {
    for (const event of events) {
      if (event.stepNumber > sentStepNumber) await stream.writeSSE({ event: "delta", data: JSON.stringify(event) });
    }
  }

  /** Waits `pollMs`, writing the deltas heard meanwhile every {@link DELTA_FLUSH_MS} at most. */
  async function waitWritingDeltas(stream: SSEStreamingApi) {
    const until = Date.now() + pollMs;
    for (let left = pollMs; left > 0 && !stream.aborted; left = until - Date.now()) {
      await stream.sleep(deltas ? Math.min(left, DELTA_FLUSH_MS) : left);
      await writeDeltas(stream);
    }
  }

  async function followRun(stream: SSEStreamingApi) {
    let announcedPause = false;
    while (!stream.aborted && Date.now() < deadline) {
      // Deltas heard before the read come before the steps it finds (their step is among them, or still to come).
      const before = heard.splice(0);
      const found = await runs.get(runId);
      if (!found) return;
      const { state } = found.record;
      await writeDeltas(stream, before);
      for (; next < state.steps.length; next++) {
        await stream.writeSSE({ event: "step", id: String(next), data: JSON.stringify(state.steps[next]) });
      }
      sentStepNumber = state.stepNumber;
      if (state.status === "awaiting_input" && !announcedPause) {
        await stream.writeSSE({ event: "awaiting_input", data: JSON.stringify(state.pendingInput ?? null) });
        announcedPause = true;
      } else if (state.status === "running") {
        announcedPause = false;
      }
      if (state.status !== "running" && state.status !== "awaiting_input") {
        const end = { status: state.status, finalAnswer: state.finalAnswer ?? null, error: state.error };
        await stream.writeSSE({ event: "end", data: JSON.stringify(end) });
        return;
      }
      await waitWritingDeltas(stream);
    }
  }
}
