/**
 * smolstep's metrics: one registry per app (no global state), read as Prometheus text on `GET /metrics` and
 * mirrored to OpenTelemetry instruments. The OTel side uses `@opentelemetry/api` only: it records nothing until
 * the user registers a MeterProvider (before creating the app) or passes one in `meterProvider`.
 *
 * OTel names follow OTel's conventions and map onto the Prometheus names by the usual conversion (dots become
 * underscores, unit `s` adds `_seconds`, monotonic counters `_total`), so dashboards work with either path.
 */

import { type MeterProvider, metrics as otelMetrics } from "@opentelemetry/api";
import type { RunStatus } from "../memory/agent_state.ts";
import type { ModelCallOutcome, ModelObserver } from "../models/model_observer.ts";
import type { RetryInfo } from "../models/retry.ts";
import type { RunMode, RunObserver, StepObserver, StepOutcomeKind } from "../runs/run_observer.ts";
import { createLogger, type Logger } from "../logging/logger.ts";
import { VERSION } from "../version.ts";
import { Counter, Gauge, Histogram } from "./instruments.ts";

/** Seconds; steps include model calls, so the buckets reach the default 5-minute lock. */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds; a store round trip is usually well under 10 ms. */
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricsOptions {
  /** Where the OpenTelemetry instruments come from (default: the global one of `@opentelemetry/api`, a no-op until one is registered). */
  meterProvider?: MeterProvider;
  /** Where a warning goes when an instrument cannot be made (default: JSON on the console). */
  logger?: Logger;
}

export class Metrics implements ModelObserver, RunObserver, StepObserver {
  readonly httpRequestsInFlight: Gauge;
  readonly httpResponses: Counter<"method" | "route" | "status">;
  readonly stepsInFlight: Gauge;
  readonly stepDuration: Histogram<"agent" | "mode" | "outcome">;
  readonly storeOperationDuration: Histogram<"operation">;
  readonly storeErrors: Counter<"operation">;
  readonly modelCalls: Counter<"model">;
  readonly modelRetries: Counter<"model">;
  readonly modelFailures: Counter<"model">;
  readonly modelCallDuration: Histogram<"model">;
  readonly runsCreated: Counter<"agent" | "mode">;
  readonly runsEnded: Counter<"agent" | "status">;

  constructor(options: MetricsOptions = {}) {
    const logger = options.logger ?? createLogger();
    const optional = <T>(create: () => T) => optionalInstrument(create, logger);
    const meter = (options.meterProvider ?? otelMetrics.getMeterProvider()).getMeter("smolstep", VERSION);
    // Default value type (double): Deno's built-in meter (OTEL_DENO=true) refuses `ValueType.INT`.
    const seconds = (otelName: string, description: string, bounds: number[]) =>
      optional(() =>
        meter.createHistogram(otelName, { description, unit: "s", advice: { explicitBucketBoundaries: bounds } })
      );
    const counter = (otelName: string, description: string) =>
      optional(() => meter.createCounter(otelName, { description }));
    const upDown = (otelName: string, description: string) =>
      optional(() => meter.createUpDownCounter(otelName, { description }));

    let help = "HTTP requests being handled.";
    this.httpRequestsInFlight = new Gauge(
      { name: "smolstep_http_requests_in_flight", help, labels: [] },
      upDown("smolstep.http.requests_in_flight", help),
    );
    help = "HTTP responses, by method, route pattern and status code.";
    this.httpResponses = new Counter(
      { name: "smolstep_http_responses_total", help, labels: ["method", "route", "status"] },
      counter("smolstep.http.responses", help),
    );
    help =
      "Steps in flight as admission control counts them (maxStepsInFlight): step and input requests, and background step messages.";
    this.stepsInFlight = new Gauge(
      { name: "smolstep_steps_in_flight", help, labels: [] },
      upDown("smolstep.steps_in_flight", help),
    );
    help = "Time a step took, request to response (store and model included), by agent, mode and outcome.";
    this.stepDuration = new Histogram(
      { name: "smolstep_step_duration_seconds", help, labels: ["agent", "mode", "outcome"] },
      STEP_BUCKETS,
      seconds("smolstep.step.duration", help, STEP_BUCKETS),
    );
    help = "Time a run-store operation took, by operation (get, put, delete...).";
    this.storeOperationDuration = new Histogram(
      { name: "smolstep_store_operation_duration_seconds", help, labels: ["operation"] },
      STORE_BUCKETS,
      seconds("smolstep.store.operation.duration", help, STORE_BUCKETS),
    );
    help = "Run-store operations that threw, by operation.";
    this.storeErrors = new Counter(
      { name: "smolstep_store_errors_total", help, labels: ["operation"] },
      counter("smolstep.store.errors", help),
    );
    help = "Model calls made by agents (one per generate, whatever its retries), by model id.";
    this.modelCalls = new Counter(
      { name: "smolstep_model_calls_total", help, labels: ["model"] },
      counter("smolstep.model.calls", help),
    );
    help = "Retries of model calls after a failed attempt (429, 5xx, network), by model id.";
    this.modelRetries = new Counter(
      { name: "smolstep_model_retries_total", help, labels: ["model"] },
      counter("smolstep.model.retries", help),
    );
    help = "Model calls that failed after their retries (aborted calls not included), by model id.";
    this.modelFailures = new Counter(
      { name: "smolstep_model_failures_total", help, labels: ["model"] },
      counter("smolstep.model.failures", help),
    );
    help = "Time a model call took, retries included, by model id.";
    this.modelCallDuration = new Histogram(
      { name: "smolstep_model_call_duration_seconds", help, labels: ["model"] },
      STEP_BUCKETS,
      seconds("smolstep.model.call.duration", help, STEP_BUCKETS),
    );
    help = "Runs created, by agent and mode (kv, background, stateless).";
    this.runsCreated = new Counter(
      { name: "smolstep_runs_created_total", help, labels: ["agent", "mode"] },
      counter("smolstep.runs.created", help),
    );
    help = "Runs that reached a final status (succeeded, failed, max_steps_error, cancelled), by agent and status.";
    this.runsEnded = new Counter(
      { name: "smolstep_runs_ended_total", help, labels: ["agent", "status"] },
      counter("smolstep.runs.ended", help),
    );
  }

  /** Everything, in the Prometheus text format (serve it as `PROMETHEUS_CONTENT_TYPE`). */
  render(): string {
    const families = [
      this.httpRequestsInFlight,
      this.httpResponses,
      this.stepsInFlight,
      this.stepDuration,
      this.storeOperationDuration,
      this.storeErrors,
      this.modelCalls,
      this.modelRetries,
      this.modelFailures,
      this.modelCallDuration,
      this.runsCreated,
      this.runsEnded,
    ];
    return families.flatMap((family) => family.render()).join("\n") + "\n";
  }

  /**
   * Times a step. Steps in flight are not counted here: the app's admission control holds that count and feeds
   * `stepsInFlight` (lib/http/admission.ts), so there is one source for `/health` and `/metrics`.
   */
  stepStarted(mode: RunMode): (agent: string, outcome: StepOutcomeKind) => void {
    const started = performance.now();
    let ended = false;
    return (agent, outcome) => {
      if (ended) return;
      ended = true;
      this.stepDuration.observe({ agent, mode, outcome }, (performance.now() - started) / 1000);
    };
  }

  modelCallEnded(modelId: string, seconds: number, outcome: ModelCallOutcome): void {
    this.modelCalls.add({ model: modelId });
    this.modelCallDuration.observe({ model: modelId }, seconds);
    if (outcome === "error") this.modelFailures.add({ model: modelId });
  }

  modelRetried(modelId: string, _info: RetryInfo): void {
    this.modelRetries.add({ model: modelId });
  }

  runCreated(agent: string, mode: RunMode): void {
    this.runsCreated.add({ agent, mode });
  }

  runEnded(agent: string, status: RunStatus): void {
    this.runsEnded.add({ agent, status });
  }

  storeOperationEnded(operation: string, seconds: number, ok: boolean): void {
    this.storeOperationDuration.observe({ operation }, seconds);
    if (!ok) this.storeErrors.add({ operation });
  }
}

/** An OTel instrument, or none when the provider refuses to make it: the app and `/metrics` work without it. */
function optionalInstrument<T>(create: () => T, logger: Logger): T | undefined {
  try {
    return create();
  } catch (error) {
    logger.warn("an OpenTelemetry instrument could not be created, so it is not mirrored", {
      error: { type: error instanceof Error ? error.name : "_OTHER" },
    });
    return undefined;
  }
}
