import {
  type Context,
  context as otelContext,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  SpanKind,
  trace,
  type TracerProvider,
} from "@opentelemetry/api";
import { ATTR, inSpan, quietly, recordUsage, smolstepTracer, TRACER_NAME } from "../tracing/spans.ts";
import { VERSION } from "../version.ts";
import { StepSpans } from "../tracing/step_spans.ts";
import type { StepIO, StepOptions, StepResult } from "./step_types.ts";

/**
 * One step (or resume) as an `invoke_agent {agent}` span: every loop steps through `MultiStepAgent.step`, so HTTP
 * steps, background steps and `run()` all produce it. A run spans several invocations (often several requests or
 * queue messages), so no span covers a whole run: its steps share `smolstep.run.id` / `gen_ai.conversation.id`
 * where the run has an id (KV and background runs). The step's model and tool calls are its children
 * (`io.spans`); a managed agent's step nests under its manager's.
 */
export function tracedStep(
  agent: { name: string; modelId: string | undefined },
  options: StepOptions & { now: () => number },
  take: (io: StepIO) => Promise<StepResult>,
  resume = false,
): Promise<StepResult> {
  if (spansAreNoOps(options.tracerProvider, options.traceParent, true)) return take({ ...options, spans: undefined });
  const tracer = smolstepTracer(options.tracerProvider);
  return inSpan(tracer, {
    name: `invoke_agent ${agent.name}`,
    kind: SpanKind.INTERNAL,
    attributes: {
      [ATTR.operation]: "invoke_agent",
      [ATTR.agentName]: agent.name,
      ...(agent.modelId ? { [ATTR.requestModel]: agent.modelId } : {}),
      ...(options.runId ? { [ATTR.runId]: options.runId, [ATTR.conversationId]: options.runId } : {}),
      ...(resume ? { [ATTR.resume]: true } : {}),
    },
    parent: options.traceParent,
  }, async (span, context) => {
    const result = await take({ ...options, spans: new StepSpans(tracer, context) });
    if (!span.isRecording()) return result;
    const record = result.step;
    quietly(() => {
      span.setAttribute(ATTR.runStatus, result.state.status);
      span.setAttribute(ATTR.stepType, record.type);
      if ("stepNumber" in record) span.setAttribute(ATTR.stepNumber, record.stepNumber);
      if (record.type === "action" && record.error) span.setAttribute(ATTR.stepError, record.error.type);
      // The step that ran was a managed agent's: its own span (a child of this one) says which.
      if (result.agent !== agent.name) span.setAttribute("smolstep.step.agent", result.agent);
    });
    if (record.type === "action" || record.type === "planning") recordUsage(span, record.tokenUsage);
    return result;
  });
}

/**
 * Whether every span under `parent` would be a no-op: no TracerProvider is registered (nor passed; the global one is
 * then the API's proxy without a delegate, whose spans are non-recording spans with the invalid span context), and
 * `parent` carries no valid span, so `contextWith` would hand `parent` itself to the children. With `active`, `parent`
 * must also be the active context already (`inSpan` makes its context the active one while its body runs). Then a
 * step skips its spans and their objects (span, attributes, closures) per step, model call and tool call: nothing a
 * tracer, a propagator, a child or the active context shows differs.
 */
export function spansAreNoOps(
  provider: TracerProvider | undefined,
  parent: Context | undefined,
  active: boolean,
): boolean {
  const tracing = provider ?? trace.getTracerProvider();
  if (!(tracing instanceof ProxyTracerProvider) || tracing.getDelegateTracer(TRACER_NAME, VERSION) !== undefined) {
    return false;
  }
  const current = active || parent === undefined ? otelContext.active() : parent;
  if (active && parent !== undefined && parent !== current) return false;
  const inherited = trace.getSpanContext(current);
  return inherited === undefined || inherited === INVALID_SPAN_CONTEXT;
}
