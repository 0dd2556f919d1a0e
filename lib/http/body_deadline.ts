import type { Context, MiddlewareHandler } from "hono";
import { startStepDeadline, StepTimeoutError } from "../runs/step_deadline.ts";
import type { StepShutdown } from "../runs/step_shutdown.ts";
import { releaseWhenStepEnds } from "./admission.ts";
import { HttpError } from "./http_errors.ts";

/**
 * The longest a request's body may take to arrive (`maxBodyWaitMs` by default): on a step route when `stepTimeoutMs`
 * is longer, on every other route always.
 */
export const MAX_BODY_WAIT_MS = 30_000;

/** Requests whose body was read here already (a step route's, read under its step deadline). */
const bodyRead = new WeakSet<Request>();

/** The step routes' deadlines, by request (`stepSignal`). */
const stepSignals = new WeakMap<Request, AbortSignal>();

const utf8 = new TextDecoder();

/**
 * The step routes' deadline, started when the request arrives, so the body's arrival counts against `stepTimeoutMs`
 * as the option says. A step route takes its place among the steps in flight before its body is read
 * (./admission.ts): a body that never ends (a client that sends its headers, then a byte now and then, or nothing)
 * would otherwise hold that place for as long as the connection stays open, and a few such connections would refuse
 * every other step. The body must arrive within the step's time and at most `MAX_BODY_WAIT_MS`, else 408
 * `request_timeout` and the connection's body is cancelled.
 *
 * The body is read here into memory (at most `maxBytes`, else 413 `payload_too_large`, as the body limit says) and
 * kept in Hono's body cache (`keepBody`); the deadline's signal is the route's `stepSignal(c)`, which its
 * `withStepDeadline` uses as is, one timer per step (lib/runs/step_deadline.ts). The deadline ends when the step
 * does, a streamed step's after its stream.
 */
export function stepBodyDeadline(
  timeoutMs: number,
  maxBytes: number,
  shutdown: StepShutdown,
  maxWaitMs = MAX_BODY_WAIT_MS,
): MiddlewareHandler {
  return async (c, next) => {
    const request = c.req.raw;
    const deadline = startStepDeadline(timeoutMs, request.signal, shutdown);
    stepSignals.set(request, deadline.signal);
    try {
      // Gone or shut down before it began: the route refuses it as it would any such step, nothing read.
      if (request.body && !deadline.signal.aborted) {
        const waitMs = Math.min(timeoutMs, maxWaitMs);
        keepBody(c, await readWithin(request.body, deadline.signal, waitMs, waitMs < timeoutMs, maxBytes));
      }
      await next();
    } finally {
      releaseWhenStepEnds(request, deadline.end);
    }
  };
}

/** The signal a route's step runs under: the step deadline started at the request's arrival, else the request's. */
export function stepSignal(c: Context): AbortSignal {
  return stepSignals.get(c.req.raw) ?? c.req.raw.signal;
}

/**
 * Reads the body of a request on any other route (a run's creation, chat completions, `/mcp`, a tool call, a
 * cancel, a webhook's delivery) into memory within `waitMs`, else 408 `request_timeout` (413 `payload_too_large`
 * past `maxBytes`), and keeps it in Hono's body cache (same bytes: a webhook's signature still verifies). A client
 * that sends its headers and then nothing no longer holds a connection, and the memory it fills, for as long as it
 * likes. A step route's body, read under its step deadline above, is left as it is.
 */
export async function readBodyWithin(c: Context, waitMs: number, maxBytes: number): Promise<void> {
  const request = c.req.raw;
  if (!request.body || bodyRead.has(request)) return;
  keepBody(c, await readWithin(request.body, request.signal, waitMs, true, maxBytes));
}

/**
 * Keeps a body read here where `c.req.text()`, `json()` and `arrayBuffer()` find it: Hono's body cache (typed as
 * `Body`'s methods, it holds their promises; hono/dist/request.js). The request itself is not copied: everything
 * keyed by it (admission, metrics, logs) keeps its key, and no `Headers` or `Request` is built per request.
 */
function keepBody(c: Context, body: Uint8Array<ArrayBuffer>): void {
  bodyRead.add(c.req.raw);
  const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
  cache.arrayBuffer = Promise.resolve(body.buffer);
  cache.text = Promise.resolve(utf8.decode(body));
}

/**
 * The whole body, or the deadline's error: 408 when the body was late (`waitMs` passed, with `timer`; or `signal`
 * aborted by a step's deadline), the signal's reason when the client left.
 */
async function readWithin(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  waitMs: number,
  timer: boolean,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  let late = false;
  const stop = (lateness: boolean) => {
    late ||= lateness;
    // A pending read then ends (done, or an error on workerd); the checks below answer.
    reader.cancel().catch(() => {});
  };
  const onAbort = () => stop(signal.reason instanceof StepTimeoutError);
  signal.addEventListener("abort", onAbort, { once: true });
  const cap = timer ? setTimeout(() => stop(true), waitMs) : undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        // workerd rejects a pending read once its stream is cancelled (Deno resolves it as done).
        if (late || signal.aborted) break;
        throw error;
      }
      const { done, value } = read;
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        throw new HttpError(413, "payload_too_large", `Request bodies are limited to ${maxBytes} bytes.`);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(cap);
    signal.removeEventListener("abort", onAbort);
  }
  if (late) {
    throw new HttpError(408, "request_timeout", `The request body did not arrive within ${waitMs} ms.`, {}, {
      retryable: true,
    });
  }
  if (signal.aborted) throw signal.reason;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
