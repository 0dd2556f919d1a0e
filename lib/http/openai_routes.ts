/**
 * The OpenAI-compatible endpoint: `GET /v1/models` (the agents), `GET /v1/models/{id}`, `POST /v1/chat/completions`
 * (the conversation's last user message is the task: ./openai_chat_task.ts; the run goes to its end: ./run_to_answer.ts;
 * the end becomes the answer: ./openai_chat_answer.ts). The run is a KV run, named by the `X-Smolstep-Run-Id` header.
 *
 * Streaming (`stream: true`): `chat.completion.chunk`s: the role, the run's progress as `delta.reasoning_content`
 * (./openai_run_narration.ts), the answer as `delta.content`, a chunk with `finish_reason`, one with `usage` when
 * `stream_options.include_usage`, then `data: [DONE]`. A failure once the stream has started is one
 * `data: {"error": ...}` (OpenAI's clients raise it) and the stream ends without `[DONE]`.
 *
 * OpenAI's protocol has no way to resume a completion: a request that has read its background run `events.maxReads`
 * times (Workers' subrequest limit) answers `follow_limit_reached` (504; as that one error chunk once streaming),
 * whose message names the run, how to read it, and that the same request with its `Idempotency-Key` waits on for
 * the same run (`x-should-retry: true` then, as such a retry starts nothing new).
 */
import type { Context, Hono } from "hono";
import type { AppContext } from "./app_context.ts";
import { idempotencyKeyOf, readJson } from "./request_body.ts";
import { type RunProgress, startRunToAnswer, type StoredRunToAnswer } from "./run_to_answer.ts";
import { chatAnswer, chatUsage } from "./openai_chat_answer.ts";
import { chatTask } from "./openai_chat_task.ts";
import { openAiErrorBody, openAiErrorHeaders, OpenAiParamError } from "./openai_errors.ts";
import type { ChatCompletionBody } from "./openai_schemas.ts";
import { RunNarrator } from "./openai_run_narration.ts";
import { isFollowLimit } from "../runs/run_follower.ts";
import { HttpError } from "./http_errors.ts";
import { canonicalJson, type RequestReplay } from "./request_replay.ts";

/** The response header naming the run behind a chat completion (`GET /v1/runs/{id}`, the playground). */
export const RUN_ID_HEADER = "X-Smolstep-Run-Id";
const DEFAULT_KEEP_ALIVE_MS = 15_000;

export function mountOpenAiRoutes(app: Hono, ctx: AppContext): void {
  const created = Math.floor(Date.now() / 1000);
  const model = (id: string) => ({ id, object: "model" as const, created, owned_by: "smolstep" });

  app.get("/v1/models", (c) => c.json({ object: "list", data: Object.keys(ctx.options.agents).map(model) }));
  app.get("/v1/models/:id", (c) => {
    const id = c.req.param("id");
    if (!Object.hasOwn(ctx.options.agents, id)) throw modelNotFound(id);
    return c.json(model(id));
  });

  app.post("/v1/chat/completions", async (c) => {
    const body = await readJson(c, "ChatCompletionBody");
    refuseUnsupported(body);
    if (!Object.hasOwn(ctx.options.agents, body.model)) throw modelNotFound(body.model);
    const { task, images } = chatTask(body.messages);
    // A caller that goes away leaves the run as it is: a background run goes on, a KV run can be continued.
    const signal = c.req.raw.signal;
    const replay = await requestReplay(c, body);
    const run = await startRunToAnswer(ctx, { agent: body.model, task, images }, { signal, onAbort: "leave", replay });
    ctx.noteRun(c.req.raw, run.runId);
    const meta = { id: `chatcmpl-${run.runId}`, created: Math.floor(Date.now() / 1000), model: body.model };
    const headers = { [RUN_ID_HEADER]: run.runId };
    const named = (error: unknown) => stillRunning(error, run.runId, replay !== undefined);
    if (body.stream) {
      const keepAliveMs = ctx.options.events?.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
      return streamCompletion(run, meta, headers, named, {
        includeUsage: Boolean(body.stream_options?.include_usage),
        keepAliveMs,
      });
    }
    try {
      const state = await endOf(run.progress);
      const answer = chatAnswer(run.runId, state);
      const message = { role: "assistant", content: answer.content, refusal: null };
      const choice = { index: 0, message, finish_reason: answer.finishReason, logprobs: null };
      return c.json({ ...meta, object: "chat.completion", choices: [choice], usage: chatUsage(state) }, 200, headers);
    } catch (error) {
      return errorResponse(c, named(error), headers);
    }
  });
}

/**
 * A follow ended at its read limit, said for a chat client: the run goes on; read it, or send the same request with
 * its `Idempotency-Key` again to wait on (only then is a retry safe: it follows the same run).
 */
function stillRunning(error: unknown, runId: string, keyed: boolean): unknown {
  if (!isFollowLimit(error)) return error;
  const again = keyed
    ? "or send this request again with the same Idempotency-Key to wait on for its answer"
    : "or send chat requests with an Idempotency-Key: the same request sent again then waits on for the same run";
  const message = `The run ${runId} is still running, but this request may not read it any more times ` +
    `(events.maxReads, SMOLSTEP_FOLLOW_MAX_READS). It goes on: read its answer with GET /v1/runs/${runId} ` +
    `(or follow GET /v1/runs/${runId}/events), ${again}.`;
  return new HttpError(504, "follow_limit_reached", message, {}, { retryable: keyed, cause: error });
}

function modelNotFound(id: string): OpenAiParamError {
  return new OpenAiParamError(
    404,
    "model_not_found",
    `The model '${id}' does not exist: models are this server's agents (GET /v1/models).`,
    "model",
  );
}

/** 400 `unsupported_parameter` for what an agent run cannot honour; sampling parameters are ignored instead. */
function refuseUnsupported(body: ChatCompletionBody): void {
  const refuse = (param: string, why: string) => {
    throw new OpenAiParamError(400, "unsupported_parameter", why, param);
  };
  if (body.n && body.n > 1) refuse("n", "n must be 1: an agent run gives one answer.");
  if (body.tools?.length) refuse("tools", "tools are the agent's own; a caller's tools are not supported.");
  if (body.functions?.length) refuse("functions", "functions are the agent's own; they are not supported.");
  if (body.response_format && body.response_format.type !== "text") {
    refuse("response_format", "response_format must be text: the answer is the agent's final answer.");
  }
}

async function endOf(progress: AsyncIterable<RunProgress>) {
  for await (const item of progress) if (item.type === "end") return item.state;
  // Only a caller that went away stops following before the end (answered as 499 request_aborted).
  throw new DOMException("The request was aborted before the run ended.", "AbortError");
}

/**
 * An error once the run exists: `x-should-retry: false` (a retry would start another run), the error's own headers
 * (`Retry-After` of a later step's 503: when the run can be continued), and the run id.
 */
function errorResponse(c: Context, error: unknown, headers: Record<string, string>): Response {
  const { status, body } = openAiErrorBody(error);
  // A keyed request that stopped following its run is safe to retry: the retry follows the same run.
  const resumes = isFollowLimit((error as { cause?: unknown }).cause) && (error as HttpError).retryable;
  return c.json(body, status, { ...openAiErrorHeaders(error, !resumes), ...headers });
}

function streamCompletion(
  run: StoredRunToAnswer,
  meta: { id: string; created: number; model: string },
  headers: Record<string, string>,
  named: (error: unknown) => unknown,
  { includeUsage, keepAliveMs }: { includeUsage: boolean; keepAliveMs: number },
): Response {
  const encoder = new TextEncoder();
  const data = (value: unknown) => encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
  const chunk = (delta: Record<string, string>, finishReason: string | null = null) =>
    data({
      ...meta,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    });
  const narrator = new RunNarrator();
  const iterator = run.progress[Symbol.asyncIterator]();
  let started = false;
  /** The next piece of progress, or null after `keepAliveMs` without one (it is still awaited by the next pull). */
  let pending: Promise<IteratorResult<RunProgress>> | undefined;
  const nextOrNull = async () => {
    pending ??= iterator.next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), keepAliveMs));
    const next = await Promise.race([pending, tick]).finally(() => clearTimeout(timer));
    if (next) pending = undefined;
    return next;
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        return controller.enqueue(chunk({ role: "assistant", content: "" }));
      }
      try {
        // A pull must enqueue something (or close): the stream calls it again only when read again.
        for (let next = await nextOrNull(); !next?.done; next = await nextOrNull()) {
          if (!next) return controller.enqueue(encoder.encode(": keepalive\n\n"));
          const item = next.value;
          if (item.type !== "end") {
            const text = narrator.narrate(item);
            if (!text) continue;
            return controller.enqueue(chunk({ reasoning_content: text }));
          }
          const answer = chatAnswer(run.runId, item.state);
          if (answer.content) controller.enqueue(chunk({ content: answer.content }));
          controller.enqueue(chunk({}, answer.finishReason));
          if (includeUsage) {
            const usage = chatUsage(item.state);
            controller.enqueue(data({ ...meta, object: "chat.completion.chunk", choices: [], usage }));
          }
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          break;
        }
      } catch (error) {
        controller.enqueue(data(openAiErrorBody(named(error)).body));
      }
      controller.close();
      await iterator.return?.();
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", ...headers },
  });
}

/**
 * What names a chat completion for its retries: the caller's `Idempotency-Key` (the official SDKs send a request's
 * headers unchanged on each retry), scoped to the caller's credentials, so one caller's key never reaches another's
 * run; what it asks is the body as sent (every field, keys in any order: ./request_replay.ts `canonicalJson`), so
 * the key sent with another body is refused (422 `idempotency_key_reused`). None without a key.
 */
async function requestReplay(c: Context, body: ChatCompletionBody): Promise<RequestReplay | undefined> {
  const key = idempotencyKeyOf(c);
  if (key === undefined) return undefined;
  const caller = c.req.header("Authorization") ?? "";
  // The text `readJson` read and bounded (Hono keeps it), parsed again: the fields the route ignores count too.
  const sent: unknown = JSON.parse(await c.req.text());
  return {
    key: JSON.stringify(["chat.completions", caller, key]),
    request: canonicalJson(sent),
    // Before bodies were compared, the body as read was part of the key.
    formerKey: JSON.stringify(["chat.completions", caller, key, body]),
  };
}
