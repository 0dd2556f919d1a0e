import { z } from "zod";

/** `POST /v1/agents/{name}/runs` */
export const CreateRunBody = z.strictObject({
  task: z.string().min(1, "task must not be empty"),
  maxSteps: z.number().int().positive().max(1000).optional(),
  /** transformers-agents' name for maxSteps. */
  maxIterations: z.number().int().positive().max(1000).optional(),
  additionalArgs: z.record(z.string(), z.unknown()).optional(),
  images: z.array(z.string().regex(/^(https:|data:image\/)/, "images must be https: or data:image/ URLs")).optional(),
  /** Return the state as a signed token instead of storing it. */
  stateless: z.boolean().optional(),
  /** Step the run on the platform queue, one step per message, without anyone polling. */
  background: z.boolean().optional(),
  /** Background runs: where the final result is POSTed (signed) when the run ends. */
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
});

/** `POST /v1/runs/{runId}/input`: approve or reject pending tool calls, or answer the agent's question. */
export const InputBody = z.union([
  z.strictObject({ approve: z.boolean(), reason: z.string().max(2000).optional() }),
  z.strictObject({ answer: z.string().max(100_000) }),
]);

/** `POST /v1/agents/{name}/input` (stateless). */
export const StatelessInputBody = z.union([
  z.strictObject({ state: z.string().min(1), approve: z.boolean(), reason: z.string().max(2000).optional() }),
  z.strictObject({ state: z.string().min(1), answer: z.string().max(100_000) }),
]);

/** `POST /v1/agents/{name}/steps` */
export const StatelessStepBody = z.strictObject({
  state: z.string().min(1, "state must be the token returned by the previous call"),
});

/** `POST /v1/runs/{runId}/steps`: the body is optional and, when given, must be an empty object. */
export const StepBody = z.strictObject({});
