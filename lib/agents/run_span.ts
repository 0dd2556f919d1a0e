import { type Context, context as otelContext, type Span, SpanKind } from "@opentelemetry/api";
import type { AgentState } from "../memory/agent_state.ts";
import { ATTR, contextWith, errorType, markFailed, quietly, recordUsage, smolstepTracer } from "../tracing/spans.ts";
import { spansAreNoOps } from "./step_span.ts";
import type { RunOptions } from "./step_types.ts";

/** The span of an in-process run and how to end it. */
export interface RunSpan {
  /** The parent of the run's step spans. */
  readonly context: Context;
  /** Ends the span with the run's status and token totals, or failed by `error.type` when the loop threw. */
  end(state: AgentState, thrown?: unknown): void;
}

/**
 * `run()` and `stream()` step a whole run in one process, so one span can cover it: `invoke_workflow {agent}`, with
 * every step's `invoke_agent` span beneath it. Runs stepped over HTTP or a queue have no such span (each step is its
 * own invocation); their steps share `smolstep.run.id` instead.
 */
export function startRunSpan(agentName: string, options: RunOptions): RunSpan {
  const parent = options.traceParent ?? otelContext.active();
  // Nothing would record: the steps run under `parent` (what `contextWith` gives for a non-recording span).
  if (spansAreNoOps(options.tracerProvider, parent, false)) return { context: parent, end: () => {} };
  let span: Span;
  try {
    span = smolstepTracer(options.tracerProvider).startSpan(`invoke_workflow ${agentName}`, {
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR.operation]: "invoke_workflow", [ATTR.agentName]: agentName },
    }, parent);
  } catch {
    return { context: parent, end: () => {} };
  }
  let ended = false;
  return {
    context: contextWith(parent, span),
    end(state, thrown) {
      if (ended) return;
      ended = true;
      recordUsage(span, state.tokenUsage);
      quietly(() => {
        span.setAttributes({ [ATTR.runStatus]: state.status, "smolstep.run.steps": state.stepNumber });
        if (thrown !== undefined) markFailed(span, errorType(thrown));
        else if (state.status === "failed") markFailed(span, state.error?.type ?? "failed");
        span.end();
      });
    },
  };
}
