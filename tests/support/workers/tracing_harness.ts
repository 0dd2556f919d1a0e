/**
 * Test worker: the app's tracing code paths inside workerd. A TracerProvider written against the
 * `@opentelemetry/api` interfaces alone (no SDK: workerd has none) records every span; the app steps a KV run through
 * its step routes and answers a chat completion (lib/http/run_to_answer.ts), both against the scripted model.
 *
 *   GET /                  -> "ready" (readiness probe)
 *   GET /run?model={url}   -> { statuses, spans: [{ name, parent, attributes }] } in the order they ended
 */

import {
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  trace,
  TraceFlags,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { calculatorTool, OpenAIServerModel, ToolCallingAgent } from "../../../lib/mod.ts";
import { createSmolstep, MemoryStore } from "../../../lib/server.ts";

interface RecordedSpan {
  name: string;
  parent: string | null;
  attributes: Attributes;
  status: SpanStatus;
}

/** Records ended spans: names, parents (by name), attributes, status. */
function recordingProvider(ended: RecordedSpan[]): TracerProvider {
  let next = 0;
  const names = new Map<string, string>();
  const tracer: Tracer = {
    startSpan(name: string, options: SpanOptions = {}, context?: Context): Span {
      const parent = context ? trace.getSpan(context)?.spanContext() : undefined;
      const spanContext: SpanContext = {
        traceId: parent?.traceId ?? crypto.randomUUID().replaceAll("-", ""),
        spanId: (++next).toString(16).padStart(16, "0"),
        traceFlags: TraceFlags.SAMPLED,
      };
      names.set(spanContext.spanId, name);
      const record: RecordedSpan = {
        name,
        parent: parent ? names.get(parent.spanId) ?? "?" : null,
        attributes: { ...options.attributes },
        status: { code: 0 },
      };
      const span: Span = {
        spanContext: () => spanContext,
        setAttribute: (key, value) => (value !== undefined && (record.attributes[key] = value), span),
        setAttributes: (attributes) => (Object.assign(record.attributes, attributes), span),
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus: (status) => (record.status = status, span),
        updateName: (newName) => (record.name = newName, span),
        end: () => void ended.push(record),
        isRecording: () => true,
        recordException: () => {},
      };
      return span;
    },
    startActiveSpan: () => {
      throw new Error("smolstep uses startSpan only");
    },
  };
  return { getTracer: () => tracer };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const modelUrl = url.searchParams.get("model");
    if (!modelUrl) return new Response("ready");
    const spans: RecordedSpan[] = [];
    const model = new OpenAIServerModel({ modelId: "scripted-model", apiBase: modelUrl, apiKey: "k", maxRetries: 0 });
    const { app } = createSmolstep({
      agents: { assistant: new ToolCallingAgent({ name: "assistant", model, tools: [calculatorTool], maxSteps: 4 }) },
      store: new MemoryStore(),
      tracerProvider: recordingProvider(spans),
    });
    const post = async (path: string, body: unknown = {}) => {
      const response = await app.fetch(
        new Request(`http://harness${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
      return { status: response.status, body: await response.json() };
    };
    const statuses: number[] = [];
    const created = await post("/v1/agents/assistant/runs", { task: "What is 6 times 7?" });
    statuses.push(created.status);
    for (let i = 0; i < 4; i++) {
      const step = await post(`/v1/runs/${created.body.runId}/steps`);
      statuses.push(step.status);
      if (step.status !== 200 || step.body.status !== "running") break;
    }
    const chat = await post("/v1/chat/completions", {
      model: "assistant",
      messages: [{ role: "user", content: "And 6 times 8?" }],
    });
    statuses.push(chat.status);
    return Response.json({
      statuses,
      runId: created.body.runId,
      answer: chat.body.choices?.[0]?.message?.content,
      spans,
    });
  },
};
