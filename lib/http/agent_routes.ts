import type { Context, Hono } from "hono";
import type { z } from "zod";
import type { MultiStepAgent, StepOptions, StepResult } from "../agents/multi_step_agent.ts";
import { StepRefusedError } from "../agents/step.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { AppContext } from "./app_context.ts";
import { stepSignal } from "./body_deadline.ts";
import { firstStepResponse } from "./first_step.ts";
import { HttpError } from "./http_errors.ts";
import type { CreateRunBody } from "./http_schemas.ts";
import type { REQUEST_BODY_SCHEMAS } from "./openapi_components.ts";
import { readJson } from "./request_body.ts";
import { runView, stepView } from "./run_views.ts";
import { stepResponse } from "./step_stream.ts";
import { assertStatelessAllowed, assertTokenFits, keepBlobs, statelessStep } from "./stateless_steps.ts";

/** Agent listing, run creation (KV, stateless, background) and the stateless step / input routes. */
export function mountAgentRoutes(app: Hono, ctx: AppContext): void {
  app.get("/v1/agents", (c) =>
    c.json({
      agents: Object.entries(ctx.options.agents).map(([name, agent]) => ({
        name,
        kind: agent.kind,
        description: agent.description,
        maxSteps: agent.maxSteps,
        tools: [...agent.tools.values()].map((tool) => ({
          name: tool.name,
          description: tool.description,
          inputs: tool.inputs,
          outputType: tool.outputType,
          parameters: tool.parameters,
          ...(tool.needsApproval ? { needsApproval: true } : {}),
          // Refused by POST /v1/tools/{name}.
          ...(tool.directCalls ? {} : { directCalls: false }),
        })),
        webhook: Boolean(ctx.options.webhooks?.[name]),
      })),
      modes: { kv: Boolean(ctx.runs), stateless: Boolean(ctx.tokens), background: Boolean(ctx.background) },
    }));

  app.post("/v1/agents/:name/runs", async (c) => {
    const name = c.req.param("name");
    const agent = ctx.agent(name);
    const body = await readJson(c, "CreateRunBody");
    if (body.stateless && (body.background || body.callbackUrl)) {
      throw new HttpError(400, "invalid_request", "A stateless run cannot run in the background.");
    }
    if (body.callbackUrl && !body.background) {
      throw new HttpError(400, "invalid_request", "callbackUrl needs background: true.");
    }
    if (body.firstStep && body.background) {
      throw new HttpError(400, "invalid_request", "A background run's steps are taken by the queue: no firstStep.");
    }
    if (body.callbackUrl) ctx.requireAllowedUrl("callbackUrl", body.callbackUrl);
    const state = startState(ctx, agent, body);
    if (body.firstStep) return firstStepResponse(c, ctx, name, agent, state, Boolean(body.stateless));
    if (body.stateless) {
      const codec = ctx.requireTokens();
      assertStatelessAllowed(ctx, name, agent);
      const token = await codec.seal(name, state, { blobsUntil: await keepBlobs(ctx, state) });
      assertTokenFits(ctx, token, "nothing was started", true);
      ctx.metrics?.runCreated(name, "stateless");
      return c.json({ agent: name, status: state.status, state: token }, 201);
    }
    const background = body.background ? ctx.requireBackground() : undefined;
    const record = await ctx.requireRuns().create(name, state, {
      background: Boolean(background),
      callbackUrl: body.callbackUrl,
    });
    ctx.noteRun(c.req.raw, record.runId);
    await background?.start(record);
    const expiresAt = ctx.requireRuns().lifecycle.deadline(state);
    return c.json({ ...runView(record.runId, name, state, expiresAt), background: Boolean(background) }, 201, {
      Location: `/v1/runs/${record.runId}`,
    });
  });

  // Stateless steps: each token steps once where there is a store (a replay is 409 token_replayed).
  app.post(
    "/v1/agents/:name/steps",
    (c) => statelessRoute(c, ctx, "StatelessStepBody", (agent, state, _body, options) => agent.step(state, options)),
  );
  app.post(
    "/v1/agents/:name/input",
    (c) =>
      statelessRoute(
        c,
        ctx,
        "StatelessInputBody",
        (agent, state, { state: _token, ...input }, options) => agent.resume(state, input, options),
      ),
  );
}

/** A new run's state from its task and options. */
function startState(ctx: AppContext, agent: MultiStepAgent, body: z.output<typeof CreateRunBody>): AgentState {
  // https: images are fetched by the model server, which may sit inside the deployer's network.
  for (const image of body.images ?? []) if (!image.startsWith("data:")) ctx.requireAllowedUrl("images", image);
  return agent.start(body.task, {
    maxSteps: body.maxSteps ?? body.maxIterations,
    additionalArgs: body.additionalArgs,
    images: body.images,
  });
}

/** A stateless step route: the agent, the body (with its `state` token), the step under the deadline, the reply. */
function statelessRoute<N extends "StatelessStepBody" | "StatelessInputBody">(
  c: Context,
  ctx: AppContext,
  schema: N,
  operation: (
    agent: MultiStepAgent,
    state: AgentState,
    body: z.output<(typeof REQUEST_BODY_SCHEMAS)[N]>,
    options: StepOptions,
  ) => Promise<StepResult>,
): Promise<Response> {
  return stepResponse(c, (onDelta) =>
    ctx.withStepDeadline(stepSignal(c), async (signal) => {
      const name = c.req.param("name")!;
      const agent = ctx.agent(name);
      ctx.requireTokens();
      const body = await readJson(c, schema);
      const { result, token } = await statelessStep(
        ctx,
        name,
        agent,
        { token: body.state },
        signal,
        (state, options) =>
          operation(agent, state, body, { ...options, ...(onDelta ? { onDelta } : {}) }).catch((error) => {
            throw namingRoute(error, name, state);
          }),
      );
      return { body: { agent: name, ...stepView(result.state, result.step, result.agent), state: token } };
    }));
}

/**
 * A stateless `not_awaiting_input` whose message names the route the run takes next, as KV's names
 * `POST /v1/runs/{id}/input`: the input route for a run that waits for input, the step route for one that does not.
 */
function namingRoute(error: unknown, name: string, state: AgentState): unknown {
  if (!(error instanceof StepRefusedError && error.code === "not_awaiting_input")) return error;
  const route = state.status === "awaiting_input"
    ? `Send the answer to POST /v1/agents/${name}/input.`
    : state.status === "running"
    ? `Step it with POST /v1/agents/${name}/steps.`
    : undefined;
  return route ? new HttpError(409, error.code, `${error.message} ${route}`, {}, { cause: error }) : error;
}
