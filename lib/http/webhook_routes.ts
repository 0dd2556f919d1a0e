import type { Hono } from "hono";
import { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, deliveryWindowSeconds } from "../webhooks/delivery_claims.ts";
import { createRunForDelivery } from "../runs/delivery_runs.ts";
import { verifyWebhook } from "../webhooks/verify_webhook.ts";
import type { AppContext } from "./app_context.ts";
import { HttpError } from "./http_errors.ts";
import { parseJsonBounded } from "./json_limits.ts";
import { taskFromPayload } from "./webhooks.ts";

/**
 * `POST /v1/hooks/{agent}`: a signed webhook delivery starts a background run and answers 202 `{runId}` at once.
 *
 * Order matters: signature, payload, task and its size are checked before anything is written, so a refused delivery (4xx)
 * leaves no trace and its corrected retry is not mistaken for a replay. Then `createRunForDelivery` claims
 * the delivery's replay key (what the sender signed) and creates the run: a delivery seen before answers 200
 * `{duplicate: true, runId}` and starts nothing; one whose run another request is creating right now answers 409
 * `delivery_in_progress`.
 */
export function mountWebhookRoutes(app: Hono, ctx: AppContext): void {
  app.post("/v1/hooks/:name", async (c) => {
    const name = c.req.param("name");
    const agent = ctx.agent(name);
    const config = ctx.options.webhooks?.[name];
    if (!config) throw new HttpError(404, "webhook_not_configured", `Agent '${name}' takes no webhooks.`);
    const secret = config.secret ?? ctx.options.webhookSecret;
    if (!secret) throw new HttpError(501, "webhook_not_configured", "No webhook secret is configured.");
    const runs = ctx.requireRuns();
    const background = ctx.requireBackground();

    const body = new Uint8Array(await c.req.arrayBuffer());
    const toleranceSeconds = ctx.options.webhookToleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
    // A refused delivery throws WebhookVerificationError: 400 or 401 by its code (./http_errors.ts).
    const delivery = await verifyWebhook(c.req.raw.headers, body, secret, {
      schemes: config.schemes,
      toleranceSeconds,
    });
    // Depth and size caps: a signed payload is still outside input (a deep one would overflow the stack later).
    const payload = body.length ? parseJsonBounded(new TextDecoder().decode(body)) : {};
    const { task, additionalArgs } = await taskFromPayload(config, payload, c.req.raw.headers);
    const state = agent.start(task, { additionalArgs, maxSteps: config.maxSteps });
    runs.checkSize(name, state, { background: true, callbackUrl: config.callbackUrl });

    const outcome = await createRunForDelivery(runs, name, state, {
      replayKey: delivery.replayKey,
      windowSeconds: deliveryWindowSeconds(toleranceSeconds),
      callbackUrl: config.callbackUrl,
      start: (record) => background.start(record),
    });
    if (outcome.status === "duplicate") return c.json({ duplicate: true, runId: outcome.runId }, 200);
    if (outcome.status === "in_progress") {
      throw new HttpError(409, "delivery_in_progress", "This delivery is starting a run right now; retry shortly.", {
        "Retry-After": "1",
      });
    }
    return c.json({ runId: outcome.record.runId, status: outcome.record.state.status }, 202);
  });
}
