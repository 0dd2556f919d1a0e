/**
 * smolstep's spans through `@opentelemetry/api` only: nothing is recorded until the user registers a TracerProvider
 * (or passes one), and no SDK or exporter is bundled. Names and attributes follow the OpenTelemetry GenAI semantic
 * conventions (development status): `invoke_agent {agent}`, `chat {model}`, `execute_tool {tool}`.
 * https://opentelemetry.io/docs/specs/semconv/gen-ai/
 *
 * No span carries content: no prompt, reply, tool argument, tool output or error message (a provider's message may
 * quote a key). Errors are marked by `error.type`, a stable code.
 */

import {
  type Attributes,
  type Context,
  context as otelContext,
  INVALID_SPAN_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type { TokenUsage } from "../models/chat_message.ts";
import { VERSION } from "../version.ts";

/** The instrumentation scope of every smolstep span. */
export const TRACER_NAME = "smolstep";

/** Attribute names used by smolstep's spans: the GenAI conventions' and smolstep's own (`smolstep.*`). */
export const ATTR = {
  operation: "gen_ai.operation.name",
  agentName: "gen_ai.agent.name",
  conversationId: "gen_ai.conversation.id",
  requestModel: "gen_ai.request.model",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  toolType: "gen_ai.tool.type",
  errorType: "error.type",
  runId: "smolstep.run.id",
  runStatus: "smolstep.run.status",
  stepNumber: "smolstep.step.number",
  stepType: "smolstep.step.type",
  stepError: "smolstep.step.error_type",
  resume: "smolstep.step.resume",
} as const;

/** The smolstep tracer of `provider`, else of the global provider (a no-op until one is registered). */
export function smolstepTracer(provider?: TracerProvider): Tracer {
  return (provider ?? trace.getTracerProvider()).getTracer(TRACER_NAME, VERSION);
}

/** Sets `gen_ai.usage.input_tokens` / `output_tokens` from a token count, when there is one. */
export function recordUsage(span: Span, usage: TokenUsage | null | undefined): void {
  if (usage) {
    quietly(() =>
      span.setAttributes({ [ATTR.inputTokens]: usage.inputTokens, [ATTR.outputTokens]: usage.outputTokens })
    );
  }
}

/** A low-cardinality name for a failure: a smolstep error's code, another error's class name, else `_OTHER`. */
export function errorType(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && /^[a-z0-9_]{1,64}$/.test(code) ? code : error.name || "Error";
  }
  return "_OTHER";
}

/** Marks a span failed with `error.type` (the status message is the same code: never the error's message). */
export function markFailed(span: Span, type: string): void {
  span.setAttribute(ATTR.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

export interface SpanSpec {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
  /** The parent (default: the active context). */
  parent?: Context;
}

/**
 * Runs `body` in a new span, made the active span for what `body` calls (where a context manager is registered) and
 * handed to it with its context, for children started explicitly. The span ends when `body` settles; a throw marks
 * it failed by `error.type` and is rethrown. Tracing never fails the work: a throwing SDK is ignored.
 */
export async function inSpan<T>(
  tracer: Tracer,
  spec: SpanSpec,
  body: (span: Span, context: Context) => Promise<T>,
): Promise<T> {
  const parent = spec.parent ?? otelContext.active();
  let span: Span;
  try {
    span = tracer.startSpan(spec.name, { kind: spec.kind, attributes: spec.attributes }, parent);
  } catch {
    return await body(trace.wrapSpanContext(INVALID_SPAN_CONTEXT), parent);
  }
  const context = contextWith(parent, span);
  try {
    return await otelContext.with(context, () => body(span, context));
  } catch (error) {
    quietly(() => markFailed(span, errorType(error)));
    throw error;
  } finally {
    quietly(() => span.end());
  }
}

/**
 * `parent` with `span` set as its span. Until a TracerProvider is registered every span is a non-recording span with
 * the invalid span context; under a parent that has no valid span context either, setting it changes nothing a
 * tracer, a propagator or a child span reads, so `parent` itself is returned (no context copy per span).
 */
export function contextWith(parent: Context, span: Span): Context {
  if (span.spanContext() !== INVALID_SPAN_CONTEXT || span.isRecording()) return trace.setSpan(parent, span);
  const inherited = trace.getSpanContext(parent);
  return inherited === undefined || inherited === INVALID_SPAN_CONTEXT ? parent : trace.setSpan(parent, span);
}

/** Sets attributes on a recording span; a throwing SDK is ignored. */
export function quietly(record: () => void): void {
  try {
    record();
  } catch {
    // The work goes on; the OTel pipeline reports its own errors.
  }
}
