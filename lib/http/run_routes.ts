import type { Hono } from "hono";
import { readRunBlob } from "../runs/run_blobs.ts";
import { RunError, type RunRecord } from "../runs/run_record.ts";
import type { AppContext } from "./app_context.ts";
import { stepSignal } from "./body_deadline.ts";
import { blobResponse } from "./blob_response.ts";
import { HttpError } from "./http_errors.ts";
import { idempotencyKeyOf, readJson } from "./request_body.ts";
import { streamRunEvents } from "./run_events.ts";
import { runView, stepView } from "./run_views.ts";
import { stepResponse } from "./step_stream.ts";

/** KV-mode run routes: step, read, follow (SSE), read a blob, cancel, answer input, delete. */
export function mountRunRoutes(app: Hono, ctx: AppContext): void {
  const load = async (runId: string) => {
    const found = await ctx.requireRuns().get(runId);
    if (!found) throw new HttpError(404, "run_not_found", `No run with id '${runId}'.`);
    return found.record;
  };
  // A step by hand of a background run (a step, an answer): the delayed copy of what its commit queues next. (On a
  // server with no queue, which can only step it by hand, it is a KV run.)
  const watchHandStep = async (record: RunRecord) => {
    if (record.background) await ctx.background?.watchHandStep(record);
  };

  app.post(
    "/v1/runs/:runId/steps",
    (c) =>
      stepResponse(c, (onDelta) =>
        ctx.withStepDeadline(stepSignal(c), async (signal) => {
          await readJson(c, "StepBody");
          const runId = c.req.param("runId");
          const idempotencyKey = idempotencyKeyOf(c);
          // The service reads the record once and picks its agent (404 agent_not_found before any write).
          const outcome = await ctx.requireRuns().step(runId, (record) => ctx.stepAgent(c.req.raw, record.agent), {
            idempotencyKey,
            signal,
            onDelta,
            beforeLock: watchHandStep,
          }).catch((error) => {
            // The service names no route; here the route that answers a paused run is known.
            if (!(error instanceof RunError && error.code === "not_awaiting_input")) throw error;
            throw new HttpError(409, error.code, `${error.message} Send the answer to POST /v1/runs/${runId}/input.`);
          });
          // A background run goes on in the background (a replay: the first request did, or its delayed copy will).
          if (outcome.record.background && !outcome.replayed) await ctx.background?.continue(outcome.record);
          const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
          return { body: { runId, ...stepView(outcome.after, outcome.step, outcome.agent) }, headers };
        })),
  );

  app.get("/v1/runs/:runId", async (c) => {
    const runId = c.req.param("runId");
    const record = await load(runId);
    const expiresAt = ctx.requireRuns().lifecycle.deadline(record.state);
    return c.json({ ...runView(runId, record.agent, record.state, expiresAt), background: Boolean(record.background) });
  });

  app.get("/v1/runs/:runId/events", async (c) => {
    const runId = c.req.param("runId");
    await load(runId);
    // That read is one of the request's `maxReads`.
    const events = ctx.options.events ?? {};
    const maxReads = events.maxReads === undefined ? undefined : Math.max(1, events.maxReads - 1);
    return streamRunEvents(c, ctx.requireRuns(), runId, { ...events, maxReads }, ctx.deltas);
  });

  // A blob the run refers to (`blob:sha256:<hex>` in its steps), by its digest; see ./blob_response.ts.
  app.get("/v1/runs/:runId/blobs/:sha256", async (c) => {
    const [runId, sha256] = [c.req.param("runId"), c.req.param("sha256")];
    const runs = ctx.requireRuns();
    const found = await runs.get(runId);
    if (!found) throw new HttpError(404, "run_not_found", `No run with id '${runId}'.`);
    const content = await readRunBlob(runs.store, runId, found.stored, sha256);
    if (!content) throw new HttpError(404, "blob_not_found", `Run '${runId}' refers to no such blob (or it expired).`);
    return blobResponse(content, sha256);
  });

  app.post("/v1/runs/:runId/cancel", async (c) => {
    const runId = c.req.param("runId");
    // 404 run_not_found when missing. A background run ended here has its result callback queued (a cancel flag is
    // applied by a step, which queues it then); a cancel sent again queues it if that failed (one more read).
    let endedHere = false;
    const record = await ctx.requireRuns().cancel(runId, {
      onCancelled: async (ended) => {
        endedHere = true;
        if (ended.background) await ctx.background?.continue(ended);
      },
    });
    const status = record.state.status;
    if (status === "cancelled" && !endedHere) await ctx.background?.recoverCallback(record);
    return c.json({ runId, status, cancelled: status === "cancelled" }, status === "cancelled" ? 200 : 202);
  });

  // Removes the run, its cancel flag and its blobs: 204; 404 run_not_found; 409 step_in_progress while a step runs.
  app.delete("/v1/runs/:runId", async (c) => {
    await ctx.requireRuns().delete(c.req.param("runId"));
    return c.body(null, 204);
  });

  app.post(
    "/v1/runs/:runId/input",
    (c) =>
      stepResponse(c, (onDelta) =>
        ctx.withStepDeadline(stepSignal(c), async (signal) => {
          const runId = c.req.param("runId");
          const input = await readJson(c, "InputBody");
          const agentFor = (record: RunRecord) => ctx.stepAgent(c.req.raw, record.agent);
          const options = { signal, onDelta, beforeLock: watchHandStep };
          const outcome = await ctx.requireRuns().resume(runId, agentFor, input, options).catch(
            async (error) => {
              // An answer sent again to a background run the first one ended: that request may have failed to queue
              // the run's callback (one more read on this refusal, and one for a run with a callback).
              if (error instanceof RunError && error.code === "not_awaiting_input" && ctx.background) {
                const found = await ctx.requireRuns().get(runId);
                if (found?.record.background) await ctx.background.recoverCallback(found.record);
              }
              throw error;
            },
          );
          // A background run goes on in the background: its next step, its callback, or a watch on its expiry.
          if (outcome.record.background) await ctx.background?.continue(outcome.record);
          return { body: { runId, ...stepView(outcome.after, outcome.step, outcome.agent) } };
        })),
  );
}
