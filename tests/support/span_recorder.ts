import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** A tracer provider that keeps every ended span in memory, and helpers to read them as a tree. */
export function spanRecorder() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const spans = () => exporter.getFinishedSpans();
  const idOf = (span: ReadableSpan) => span.spanContext().spanId;
  return {
    provider,
    spans,
    /** Spans named `name`, in the order they ended. */
    named: (name: string) => spans().filter((span) => span.name === name),
    /** The children of `parent`, in the order they ended. */
    childrenOf: (parent: ReadableSpan) => spans().filter((span) => span.parentSpanContext?.spanId === idOf(parent)),
    /** Spans whose parent is not among the recorded spans. */
    roots: () => {
      const ids = new Set(spans().map(idOf));
      return spans().filter((span) => !span.parentSpanContext || !ids.has(span.parentSpanContext.spanId));
    },
    reset: () => exporter.reset(),
    shutdown: () => provider.shutdown(),
  };
}

export type SpanRecorder = ReturnType<typeof spanRecorder>;
