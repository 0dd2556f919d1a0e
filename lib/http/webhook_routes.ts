import type { Hono } from "hono";
import type { AppContext } from "./app_context.ts";
import { HttpError } from "./http_errors.ts";
import { renderTaskTemplate, verifyWebhook } from "./webhooks.ts";

const REPLAY_WINDOW_SECONDS = 7 * 24 * 3600;

/**
 * `POST /v1/hooks/{agent}`: a signed webhook delivery starts a background run and answers 202 `{runId}` at once.
 * A delivery id seen before answers 200 with the original run, and starts nothing.
 */
export function mountWebhookRoutes(app: Hono, ctx: AppContext): void {
  app.post("/v1/hooks/:name", async (c) => {
    const name = c.req.param("name");
    ctx.agent(name);
    const config = ctx.options.webhooks?.[name];
    if (!config) throw new HttpError(404, "webhook_not_configured", `Agent '${name}' takes no webhooks.`);
    const secret = config.secret ?? ctx.options.webhookSecret;
    if (!secret) throw new HttpError(501, "webhook_not_configured", "No webhook secret is configured.");
    const runs = ctx.requireRuns();
    const background = ctx.requireBackground();

    const body = new Uint8Array(await c.req.arrayBuffer());
    const deliveryId = await verifyWebhook(c.req.raw.headers, body, secret, ctx.options.webhookToleranceSeconds ?? 300);
    let payload: unknown;
    try {
      payload = body.length ? JSON.parse(new TextDecoder().decode(body)) : {};
    } catch {
      throw new HttpError(400, "invalid_json", "The webhook body must be JSON.");
    }
    const made = typeof config.task === "string"
      ? renderTaskTemplate(config.task, payload)
      : await config.task(payload, c.req.raw.headers);
    const { task, additionalArgs } = typeof made === "string" ? { task: made, additionalArgs: undefined } : made;
    if (!task.trim()) throw new HttpError(422, "empty_task", "The webhook payload produced an empty task.");

    // Claim the delivery id first: a replay (or a concurrent duplicate) finds it and starts nothing.
    const markerKey = `hooks/${name}/${deliveryId}`;
    const claimed = await runs.store.put(markerKey, "", { expectedVersion: null, expireIn: REPLAY_WINDOW_SECONDS });
    if (!claimed.ok) {
      const existing = await runs.store.get(markerKey);
      return c.json({ duplicate: true, runId: existing?.value || null }, 200);
    }
    const state = ctx.agent(name).start(task, { additionalArgs, maxSteps: config.maxSteps });
    const record = await runs.create(name, state, { background: true, callbackUrl: config.callbackUrl });
    await runs.store.put(markerKey, record.runId, { expireIn: REPLAY_WINDOW_SECONDS });
    await background.start(record);
    return c.json({ runId: record.runId, status: record.state.status }, 202);
  });
}
