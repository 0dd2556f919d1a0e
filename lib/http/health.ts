import { VERSION } from "../version.ts";
import type { StepAdmission } from "./admission.ts";

/**
 * `GET /health`: cheap (no store work) and unauthenticated, for load balancers and operators. No secrets, no
 * configuration beyond the number of agents and the cap on steps in flight.
 */
export interface Health {
  ok: true;
  /** smolstep's version. */
  version: string;
  /** Agents served. */
  agents: number;
  /** Whole seconds since this app was created (this process, or this isolate on Workers). */
  uptimeSeconds: number;
  /** Steps running now in this process (HTTP and background). */
  stepsInFlight: number;
  /** The cap on HTTP steps in flight; more are refused with 503 `overloaded`. */
  maxStepsInFlight: number;
}

export function healthView(agents: number, startedAt: number, admission: StepAdmission): Health {
  return {
    ok: true,
    version: VERSION,
    agents,
    uptimeSeconds: Math.max(0, Math.floor((Date.now() - startedAt) / 1000)),
    stepsInFlight: admission.inFlight,
    maxStepsInFlight: admission.limit,
  };
}
