import * as z from "zod";

/** Caps on run inputs beyond the body size and JSON caps (`json_limits.ts`): each name becomes a variable or a key. */
export const MAX_ADDITIONAL_ARGS = 1000;
export const MAX_ARG_NAME_LENGTH = 256;
export const MAX_IMAGES = 32;

/** `POST /v1/agents/{name}/runs` */
export const CreateRunBody = z.strictObject({
  task: z.string().min(1, "task must not be empty"),
  maxSteps: z.number().int().positive().max(1000).optional(),
  /** transformers-agents' name for maxSteps. */
  maxIterations: z.number().int().positive().max(1000).optional(),
  additionalArgs: z.record(z.string().min(1).max(MAX_ARG_NAME_LENGTH), z.unknown())
    .refine((args) => Object.keys(args).length <= MAX_ADDITIONAL_ARGS, `at most ${MAX_ADDITIONAL_ARGS} additionalArgs`)
    .optional(),
  images: z.array(z.string().regex(/^(https:|data:image\/)/, "images must be https: or data:image/ URLs"))
    .max(MAX_IMAGES).optional(),
  /** Return the state as a signed token instead of storing it. */
  stateless: z.boolean().optional(),
  /**
   * Take the run's first step before answering, as `POST /v1/runs/{runId}/steps` (or a stateless step) would: one
   * request fewer per run. Not with `background` (the queue takes a background run's steps).
   */
  firstStep: z.boolean().optional(),
  /** Step the run on the platform queue, one step per message, without anyone polling. */
  background: z.boolean().optional(),
  /** Background runs: where the final result is POSTed (signed) when the run ends. */
  // Checked by the egress guard (scheme, host, credentials: 400 url_not_allowed), after the schema.
  callbackUrl: z.string().min(1).max(2048).optional(),
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

/** `POST /v1/tools/{name}`: one direct tool call; `agent` picks whose tool (default: the first agent that has it). */
export const ToolCallBody = z.strictObject({
  agent: z.string().min(1).max(256).optional(),
  arguments: z.record(z.string(), z.unknown()).default({}),
});
