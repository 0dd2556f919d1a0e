/**
 * Step requests answered as Server-Sent Events (`Accept: text/event-stream`): the model's deltas as `event: delta`
 * while the step runs, then exactly one `event: step` whose data is the JSON body the same request answers without
 * streaming, or one `event: error` (`{error: {code, message, retryable}}`; the run is unchanged, as for the JSON
 * error). The response starts with the first delta, or when the step ends if it sent none (a replay, a model that
 * does not stream): an error before that (auth, 404, 409, a model failure before its first token...) is the usual
 * JSON error response.
 */
import type { Context } from "hono";
import type { DeltaEvent } from "../agents/agent_events.ts";
import { classifyError } from "./http_errors.ts";

/** What a step route answers: the JSON body and its extra headers. */
export interface StepReply {
  body: unknown;
  headers?: Record<string, string>;
  /** The JSON answer's status (default 200; a streamed step is always 200). */
  status?: 200 | 201;
}

/**
 * A step still running after its response started, by request, settling with the HTTP status its JSON answer would
 * have had: the admission place is held, and the step's metrics are taken, when it ends.
 */
const running = new WeakMap<Request, Promise<number>>();

/** The step still running behind this request's streamed response, if any: resolves with its would-be status. */
export function stepStillRunning(request: Request): Promise<number> | undefined {
  return running.get(request);
}

/** Whether the request asks for the step as Server-Sent Events. */
export function wantsEventStream(c: Context): boolean {
  return (c.req.header("Accept") ?? "").toLowerCase().includes("text/event-stream");
}

/** Answers a step route: JSON, or with `Accept: text/event-stream` the step's deltas and its reply as SSE. */
export async function stepResponse(
  c: Context,
  run: (onDelta?: (event: DeltaEvent) => void) => Promise<StepReply>,
): Promise<Response> {
  if (!wantsEventStream(c)) {
    const reply = await run();
    return c.json(reply.body, reply.status ?? 200, reply.headers);
  }
  const queue: DeltaEvent[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  let firstDelta!: () => void;
  const started = new Promise<void>((resolve) => firstDelta = resolve);
  const done = run((event) => {
    queue.push(event);
    firstDelta();
    notify();
  });
  let finished = false;
  const finish = () => {
    finished = true;
    notify();
  };
  done.then(finish, finish);
  // Before the first delta, a failure is the usual JSON error response (thrown to the app's error handler).
  const first = await Promise.race([done.then((reply) => ({ reply })), started.then(() => undefined)]);
  const encoder = new TextEncoder();
  const frame = (event: string, data: unknown) => encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  // The client gone, nothing more is written (the step still ends as it would: its outcome is the run's).
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!queue.length && !finished && !cancelled) await new Promise<void>((resolve) => wake = resolve);
      if (cancelled) return;
      if (queue.length) {
        for (const event of queue.splice(0)) controller.enqueue(frame("delta", event));
        return;
      }
      let last: Uint8Array;
      try {
        last = frame("step", (await done).body);
      } catch (error) {
        const http = classifyError(error);
        last = frame("error", { error: { code: http.code, message: http.message, retryable: http.retryable } });
      }
      if (cancelled) return;
      controller.enqueue(last);
      controller.close();
    },
    cancel() {
      cancelled = true;
      notify();
    },
  });
  if (!first) {
    running.set(c.req.raw, done.then(() => 200, (error) => classifyError(error).status));
  }
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      ...first?.reply.headers,
    },
  });
}
