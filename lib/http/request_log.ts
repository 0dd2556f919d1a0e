import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../logging/logger.ts";
import { methodLabel, routePattern } from "../metrics/http_metrics.ts";
import { classifyError } from "./http_errors.ts";

/** A caller's `X-Request-Id` is kept when it looks like an id; anything else is replaced by a fresh UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Run ids are UUIDs; a path segment of another shape is not logged. */
const RUN_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * One JSON line per request, when it ends: `method`, `route` (the pattern, never the raw path or its query string),
 * `status`, `durationMs`, `requestId` (also sent back as `X-Request-Id`), `runId` on `/v1/runs/{runId}` routes and
 * on the routes that create a run (as `runOf` says), and `error: {code, type}` when the request failed. A 5xx is
 * logged at `error`, but a refusal the server chose (503 `overloaded`: load shed; `shutting_down`: a deploy) at
 * `warn`; anything else at `info`. A streamed step (or MCP call) is logged when it ends, with
 * `stepStatus` when its would-be status differs from the 200 that started it.
 * Nothing else of the request is read: no header but `X-Request-Id`, no body, no query string. Mount first, on `*`.
 */
export function requestLog(
  logger: Logger,
  stillRunning: (request: Request) => Promise<number> | undefined = () => undefined,
  /** The run the request created, noted by its route. */
  runOf: (request: Request) => string | undefined = () => undefined,
): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const offered = c.req.header("X-Request-Id");
    const requestId = offered && REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    c.header("X-Request-Id", requestId);
    await next();
    const write = (stepStatus?: number) => {
      const status = c.res.status;
      const failed = Math.max(status, stepStatus ?? 0);
      const fields: Record<string, unknown> = {
        method: methodLabel(c),
        route: routePattern(c),
        status,
        ...(stepStatus !== undefined && stepStatus !== status ? { stepStatus } : {}),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        requestId,
        ...runIdOf(c, runOf(c.req.raw)),
        ...(c.error ? { error: failure(c.error) } : {}),
      };
      logger.log(levelOf(failed, c.error), "request", fields);
    };
    if (!logger.enabled("error")) return;
    const running = stillRunning(c.req.raw);
    if (running) running.then(write, () => write(500));
    else write();
  };
}

/** 503s the server answers on purpose, retryable and expected in operation: not errors of the server. */
const REFUSALS: ReadonlySet<string> = new Set(["overloaded", "shutting_down"]);

function levelOf(status: number, error: Error | undefined): "error" | "warn" | "info" {
  if (status < 500) return "info";
  return error && REFUSALS.has(classifyError(error).code) ? "warn" : "error";
}

/** The code the response carried and the error's class name: never its message or stack. */
function failure(error: Error): { code: string; type: string } {
  return { code: classifyError(error).code, type: error.name || "Error" };
}

/** `{runId}` read from the path where the route pattern has `:runId`, else the run the request created. */
function runIdOf(c: Context, created: string | undefined): { runId?: string } {
  const pattern = routePattern(c).split("/");
  const index = pattern.indexOf(":runId");
  const runId = index < 0 ? created : c.req.path.split("/")[index];
  return runId && RUN_ID.test(runId) ? { runId } : {};
}
