import type { Context, Handler, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { SmolstepError } from "../errors.ts";
import type { StepOutcomeKind } from "../runs/run_observer.ts";
import type { Metrics } from "./metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus_text.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The request's method, or `OTHER` for one outside the standard set (a label or log field from a small set). */
export function methodLabel(c: Context): string {
  return METHODS.has(c.req.method) ? c.req.method : "OTHER";
}

/**
 * The pattern of the route that matched, e.g. `/v1/runs/:runId/steps`: never the raw path, whose run ids would make
 * a series per run. `unmatched` when only middleware matched (404s, wrong methods).
 */
export function routePattern(c: Context): string {
  return matchedRoutes(c).findLast((route) => route.method !== "ALL")?.path ?? "unmatched";
}

/** Requests in flight, and every response by method, route pattern and status. Mount first, on `*`. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    metrics.httpRequestsInFlight.add({}, 1);
    try {
      await next();
    } finally {
      metrics.httpRequestsInFlight.add({}, -1);
      metrics.httpResponses.add({ method: methodLabel(c), route: routePattern(c), status: String(c.res.status) });
    }
  };
}

/**
 * Steps in flight and step latency for the step routes (lib/http/step_routes.ts). The agent label is what `agentOf` says once the route
 * has run (empty when the request named no known agent or run), so unknown names never become series.
 */
export function stepMetrics(
  metrics: Metrics,
  agentOf: (c: Context) => string | undefined,
  /** A step still running behind a response that has started (a streamed step): its would-be status, when it ends. */
  stillRunning: (request: Request) => Promise<number> | undefined = () => undefined,
): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== "POST") return await next();
    const ended = metrics.stepStarted(c.req.path.startsWith("/v1/runs/") ? "kv" : "stateless");
    try {
      await next();
    } finally {
      endStep(c, ended, agentOf, stillRunning);
    }
  };
}

/**
 * Step metrics for a route that takes a step only sometimes (`POST /v1/agents/{name}/runs` with `firstStep`): the
 * handler starts the measure (`measureOf` finds it) once it knows; requests without one are not steps.
 */
export function optionalStepMetrics(
  measureOf: (request: Request) => ((agent: string, outcome: StepOutcomeKind) => void) | undefined,
  agentOf: (c: Context) => string | undefined,
  stillRunning: (request: Request) => Promise<number> | undefined,
): MiddlewareHandler {
  return async (c, next) => {
    try {
      await next();
    } finally {
      const ended = measureOf(c.req.raw);
      if (ended) endStep(c, ended, agentOf, stillRunning);
    }
  };
}

/** Ends a step's measure with its outcome, read from the response (or, for a streamed step, when it ends). */
function endStep(
  c: Context,
  ended: (agent: string, outcome: StepOutcomeKind) => void,
  agentOf: (c: Context) => string | undefined,
  stillRunning: (request: Request) => Promise<number> | undefined,
): void {
  const running = stillRunning(c.req.raw);
  if (running) running.then((status) => ended(agentOf(c) ?? "", statusOutcome(status, false)));
  else if (c.error instanceof SmolstepError && c.error.code === "shutting_down") ended(agentOf(c) ?? "", "aborted");
  else ended(agentOf(c) ?? "", stepOutcome(c.res));
}

/**
 * From the response: 2xx `ok` (`replayed` for an idempotent replay), 499 `aborted`, 4xx `rejected`, 5xx `error`. (A
 * step given back by a shutdown, 503 `shutting_down`, is counted `aborted` by `stepMetrics` from the error.)
 */
export function stepOutcome(response: Response): StepOutcomeKind {
  return statusOutcome(response.status, response.headers.get("Idempotent-Replayed") === "true");
}

function statusOutcome(status: number, replayed: boolean): StepOutcomeKind {
  if (status < 300) return replayed ? "replayed" : "ok";
  if (status === 499) return "aborted";
  return status < 500 ? "rejected" : "error";
}

/** `GET /metrics`: the registry in the Prometheus text format 0.0.4. */
export function metricsEndpoint(metrics: Metrics): Handler {
  return (c) => c.body(metrics.render(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
}
