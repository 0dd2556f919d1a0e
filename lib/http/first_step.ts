import type { Context } from "hono";
import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import type { AgentState } from "../memory/agent_state.ts";
import type { StepOutcomeKind } from "../runs/run_observer.ts";
import { releaseWhenStepEnds } from "./admission.ts";
import type { AppContext } from "./app_context.ts";
import { stepSignal } from "./body_deadline.ts";
import { stepView } from "./run_views.ts";
import { statelessStep } from "./stateless_steps.ts";
import { stepResponse } from "./step_stream.ts";

/**
 * `POST /v1/agents/{name}/runs` with `firstStep: true`: the run's first step is taken before the answer, which is
 * that step (201; a KV run's with its `runId` and `Location`, a stateless run's with its next `state` token), so a
 * client saves the request that would take it. The step is admitted and measured like any step route's (the cap on
 * steps in flight, after the body was read; `smolstep_step_duration_seconds`), streams its deltas with
 * `Accept: text/event-stream`, and keeps its run's guarantees: a KV run is written once, already stepped
 * (`RunService.startWithStep`), a stateless run's first token is sealed after it; a step that fails leaves nothing.
 */

/** The metrics end of each first step in flight, by request, for the create route's step metrics (./app.ts). */
const measured = new WeakMap<Request, (agent: string, outcome: StepOutcomeKind) => void>();

/** A first step's metrics end, if this request took one. */
export function firstStepMeasure(request: Request): ((agent: string, outcome: StepOutcomeKind) => void) | undefined {
  return measured.get(request);
}

export function firstStepResponse(
  c: Context,
  ctx: AppContext,
  name: string,
  agent: MultiStepAgent,
  start: AgentState,
  stateless: boolean,
): Promise<Response> {
  if (stateless) ctx.requireTokens();
  else ctx.requireRuns();
  const release = ctx.admission.enterOrRefuse();
  const ended = ctx.metrics?.stepStarted(stateless ? "stateless" : "kv");
  if (ended) measured.set(c.req.raw, ended);
  const answered = stepResponse(c, (onDelta) =>
    ctx.withStepDeadline(stepSignal(c), async (signal) => {
      const options = onDelta ? { onDelta } : {};
      if (stateless) {
        const { result, token } = await statelessStep(
          ctx,
          name,
          agent,
          { start },
          signal,
          (state, stepOptions) => agent.step(state, { ...stepOptions, ...options }),
        );
        return {
          status: 201,
          body: { agent: name, ...stepView(result.state, result.step, result.agent), state: token },
        };
      }
      const outcome = await ctx.requireRuns().startWithStep(name, start, ctx.stepAgent(c.req.raw, name), {
        signal,
        ...options,
      });
      const { runId } = outcome.record;
      ctx.noteRun(c.req.raw, runId);
      return {
        status: 201,
        body: { runId, ...stepView(outcome.after, outcome.step, outcome.agent) },
        headers: { Location: `/v1/runs/${runId}` },
      };
    }));
  return answered.finally(() => releaseWhenStepEnds(c.req.raw, release));
}
