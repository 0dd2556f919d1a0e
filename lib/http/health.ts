import type { Metrics } from "../metrics/metrics.ts";
import { VERSION } from "../version.ts";

/**
 * `GET /health`: cheap (no store work) and unauthenticated, for load balancers and operators. No secrets, no
 * configuration beyond the number of agents.
 */
export interface Health {
  ok: true;
  /** smolstep's version. */
  version: string;
  /** Agents served. */
  agents: number;
  /** Whole seconds since this app was created (this process, or this isolate on Workers). */
  uptimeSeconds: number;
  /** Steps running now in this process (HTTP and background); absent when metrics are off. */
  stepsInFlight?: number;
}

export function healthView(agents: number, startedAt: number, metrics: Metrics | undefined): Health {
  const view: Health = {
    ok: true,
    version: VERSION,
    agents,
    uptimeSeconds: Math.max(0, Math.floor((Date.now() - startedAt) / 1000)),
  };
  if (metrics) view.stepsInFlight = metrics.stepsInFlight.value({});
  return view;
}
