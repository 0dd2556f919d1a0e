/**
 * The routes that run a step inline (KV and stateless, step and input): their POSTs are admitted against the cap
 * on steps in flight (./admission.ts) and counted as steps (lib/metrics/http_metrics.ts).
 */
export const STEP_ROUTES = [
  "/v1/runs/:runId/steps",
  "/v1/runs/:runId/input",
  "/v1/agents/:name/steps",
  "/v1/agents/:name/input",
];
