import { SpanKind } from "@opentelemetry/api";
import { ATTR, inSpan, quietly, recordUsage, smolstepTracer } from "../tracing/spans.ts";
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
