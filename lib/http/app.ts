import { type Context, Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { cors } from "hono/cors";
import { metricsEndpoint, optionalStepMetrics, requestMetrics, stepMetrics } from "../metrics/http_metrics.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { QueueMessage } from "../runs/run_queue.ts";
import { type LegacySweepOptions, type LegacySweepReport, sweepLegacyExpiry } from "../runs/legacy_expiry_sweep.ts";
import { legacyExpiryRules } from "../runs/legacy_keys.ts";
import { KeyListingError } from "../stores/key_listing.ts";
import { STEP_ROUTES } from "./step_routes.ts";
import { mountAgentRoutes } from "./agent_routes.ts";
import { ApiKeyVerifier } from "./api_keys.ts";
import { AppContext, type AppOptions, DEFAULT_MAX_BODY_BYTES } from "./app_context.ts";
import { MAX_BODY_WAIT_MS, readBodyWithin, stepBodyDeadline } from "./body_deadline.ts";
import { corsPolicy } from "./cors_policy.ts";
import { healthView } from "./health.ts";
import { openAiAwareErrorHandler } from "./openai_errors.ts";
import { mountOpenAiRoutes } from "./openai_routes.ts";
import { requireJsonBody } from "./request_body.ts";
import { mountOpenApi } from "./openapi_routes.ts";
import { mountPlayground } from "./playground/playground_routes.ts";
import { requestLog } from "./request_log.ts";
import { mountRunRoutes } from "./run_routes.ts";
import { stepStillRunning } from "./step_stream.ts";
import { firstStepMeasure } from "./first_step.ts";
import { mountToolRoutes } from "./tool_routes.ts";
import { mountWebhookRoutes } from "./webhook_routes.ts";

export type { AppOptions } from "./app_context.ts";

export { DEFAULT_MAX_BODY_BYTES };

/** Webhook deliveries authenticate by their signature and keep the sender's media type: no API key, no 415. */
const isWebhook = (path: string) => path.startsWith("/v1/hooks/");

export interface Smolstep {
  /** The HTTP API; `app.fetch` is a standard fetch handler. */
  app: Hono;
  /** Give every message of the platform queue to this (Deno KV `listenQueue`, a Worker's `queue()` handler). */
  handleQueueMessage(message: QueueMessage): Promise<void>;
  /** This app's metrics (also on `GET /metrics`); undefined with `metrics: false`. */
  metrics: Metrics | undefined;
  /**
   * Gives every key older servers left under `blobs/`, `runs/`, `tokens/` and `hooks/` with no expiry the one this
   * app's writers would give it, counted from now (lib/runs/legacy_expiry_sweep.ts). A dry run unless `apply`. Throws
   * `KeyListingError` without a store, or over one that cannot list (a Durable Object store). `prefixes: ["blobs/"]`
   * sweeps the shared blobs alone.
   */
  sweepLegacyExpiry(options?: Omit<LegacySweepOptions, "rules">): Promise<LegacySweepReport>;
  /**
   * Stops this app's steps, for a graceful stop (a redeploy's SIGTERM): the steps in flight (HTTP, stateless,
   * OpenAI-compatible, MCP and background ones) get `graceMs` (default 0) to finish and commit; then those still
   * running are aborted, like a client that went away, each giving its run back unchanged (its lock, or its
   * stateless token's claim, released), and every step that starts later fails at once: 503 `shutting_down` over
   * HTTP; a background step's message is queued again, as it was, for the next process, and a request following a
   * background run (chat completions, MCP) answers 503 `shutting_down` (the run goes on). Resolves once no step is
   * in flight (an aborted background step's message queued again). The HTTP server is the caller's to stop
   * (`Deno.serve`'s `shutdown()`, Node's `server.close()`); a step that ignores its signal keeps this pending, so
   * bound the wait.
   */
  shutdown(options?: { graceMs?: number }): Promise<void>;
}

/** Builds the HTTP API and the queue consumer that continues background runs. */
export function createSmolstep(options: AppOptions): Smolstep {
  const ctx = new AppContext(options);
  const app = new Hono();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const startedAt = Date.now();
  const { metrics } = ctx;

  app.onError(openAiAwareErrorHandler);
  app.notFound((c) =>
    c.json(
      { error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}`, retryable: false } },
      404,
    )
  );
  app.use(
    "*",
    requestLog(
      ctx.logger,
      (request) => stepStillRunning(request) ?? ctx.stillAnswering.get(request),
      (request) => ctx.requestRuns.get(request),
    ),
  );
  if (metrics) app.use("*", requestMetrics(metrics));
  if (options.cors) app.use("*", cors(corsPolicy(options.cors)));
  if (options.apiKeys?.length) {
    const keys = new ApiKeyVerifier(options.apiKeys);
    const auth = bearerAuth({ verifyToken: (token) => keys.verify(token) });
    app.use("/v1/*", (c, next) => isWebhook(c.req.path) ? next() : auth(c, next));
    app.use("/metrics", auth);
    for (const path of options.plugins?.flatMap((plugin) => plugin.paths) ?? []) app.use(path, auth);
  }
  // Admission before the body is touched (even by the size limit) or the store: an overloaded process refuses at
  // once (503).
  app.on("POST", STEP_ROUTES, ctx.admission.middleware());
  // ...and the step's deadline starts: its body must arrive in time, or a client that never ends it holds the place.
  const bodyWaitMs = options.maxBodyWaitMs ?? MAX_BODY_WAIT_MS;
  app.on("POST", STEP_ROUTES, stepBodyDeadline(ctx.stepTimeoutMs, maxBodyBytes, ctx.shutdown, bodyWaitMs));
  // Every other body arrives within `maxBodyWaitMs` too, or 408; and none is longer than `maxBodyBytes`, or 413.
  app.use("/v1/*", async (c, next) => {
    await readBodyWithin(c, bodyWaitMs, maxBodyBytes);
    await next();
  });
  // JSON only, so no page can reach the API with a CORS "simple request" (no preflight). Webhooks are signed instead.
  app.use("/v1/*", async (c, next) => {
    if (c.req.method === "POST" && !isWebhook(c.req.path)) await requireJsonBody(c);
    await next();
  });
  if (metrics) {
    // Requests that passed the checks above are steps. The agent label: a stateless step names a configured agent;
    // a KV run's route notes its record's agent.
    const agentOf = (c: Context) => {
      const name = c.req.path.startsWith("/v1/agents/") ? c.req.param("name") : ctx.stepAgents.get(c.req.raw);
      return name !== undefined && Object.hasOwn(options.agents, name) ? name : undefined;
    };
    for (const path of STEP_ROUTES) app.use(path, stepMetrics(metrics, agentOf, stepStillRunning));
    app.use("/v1/agents/:name/runs", optionalStepMetrics(firstStepMeasure, agentOf, stepStillRunning));
  }

  app.get("/health", (c) => c.json(healthView(Object.keys(options.agents).length, startedAt, ctx.admission)));
  if (metrics) app.get("/metrics", metricsEndpoint(metrics));
  mountAgentRoutes(app, ctx);
  mountRunRoutes(app, ctx);
  mountWebhookRoutes(app, ctx);
  mountOpenAiRoutes(app, ctx);
  if (options.openapi !== false) {
    mountOpenApi(app, {
      apiKeys: Boolean(options.apiKeys?.length),
      metrics: Boolean(metrics),
      playground: options.playground !== false,
      routes: options.plugins?.flatMap((plugin) => plugin.routes),
    });
  }
  mountToolRoutes(app, ctx);
  if (options.playground !== false) mountPlayground(app);
  for (const plugin of options.plugins ?? []) plugin.mount(app, ctx);

  return {
    app,
    handleQueueMessage: async (message) => {
      if (!ctx.background) throw new Error("This server has no store and queue for background runs.");
      // A background step counts as in flight (it shares the model and the store) but is never refused. A shutdown
      // waits for its message's handling, the message queued again if the step was aborted (the step itself is
      // aborted through its deadline).
      const release = message.type === "step" ? ctx.admission.enter() : undefined;
      const leave = message.type === "step" ? ctx.shutdown.enter(() => {}) : undefined;
      try {
        await ctx.background.handle(message);
      } finally {
        release?.();
        leave?.();
      }
    },
    metrics,
    sweepLegacyExpiry: (sweep = {}) => {
      if (!ctx.runs) return Promise.reject(new KeyListingError("unsupported", "This server has no store."));
      const rules = legacyExpiryRules(ctx.runs.lifecycle, ctx.options.webhookToleranceSeconds);
      return sweepLegacyExpiry(ctx.runs.store, { ...sweep, rules });
    },
    shutdown: (stop = {}) => ctx.shutdown.shutdown(stop.graceMs),
  };
}

/** The HTTP API alone (see `createSmolstep` for background runs). */
export function createApp(options: AppOptions): Hono {
  return createSmolstep(options).app;
}
