import type { TracerProvider } from "@opentelemetry/api";
import type { Hono } from "hono";
import type { cors } from "hono/cors";
import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import { ConfigurationError } from "../errors.ts";
import { createLogger, type Logger } from "../logging/logger.ts";
import { instrumentStore } from "../metrics/instrumented_store.ts";
import { Metrics } from "../metrics/metrics.ts";
import { checkUrl, type EgressPolicy } from "../net/egress.ts";
import { BackgroundRunner } from "../runs/background_runner.ts";
import { DeltaChannel, type DeltaRelay } from "../runs/delta_channel.ts";
import type { RunQueue } from "../runs/run_queue.ts";
import { RunService } from "../runs/run_service.ts";
import { DEFAULT_LOCK_TTL_MS, defaultStepTimeoutMs, withStepDeadline } from "../runs/step_deadline.ts";
import { StepShutdown } from "../runs/step_shutdown.ts";
import { MIN_SECRET_LENGTH, StateTokenCodec } from "../runs/state_token.ts";
import type { TokenCipherFactory } from "../runs/token_cipher.ts";
import { TokenLedger } from "../runs/token_ledger.ts";
import type { StateStore } from "../stores/state_store.ts";
import { StepAdmission } from "./admission.ts";
import { HttpError } from "./http_errors.ts";
import type { RouteDoc } from "./openapi_route_spec.ts";
import type { EventStreamOptions } from "./run_events.ts";
import type { WebhookConfig } from "./webhooks.ts";

/** Request bodies larger than this are refused with 413 unless `maxBodyBytes` says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface AppOptions {
  /** The agents served, by route name. */
  agents: Record<string, MultiStepAgent>;
  /** Where KV-mode runs live. Without it, only stateless runs are served. */
  store?: StateStore;
  /** Signs (and encrypts) stateless state tokens; at least 16 characters. Without it, stateless mode is off. */
  secret?: string;
  /** When set, `/v1/*` requires `Authorization: Bearer <one of these>` (compared in constant time). */
  apiKeys?: string[];
  /** CORS for browser callers: `true` allows any origin, or give Hono's cors options. Off by default. */
  cors?: boolean | Parameters<typeof cors>[0];
  /** Request bodies larger than this are rejected with 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** Encrypt stateless tokens (default true); they are always signed. */
  encryptState?: boolean;
  /**
   * The AES-256-GCM that seals stateless tokens (default WebCrypto, on every runtime). Under Deno,
   * `nodeTokenCipher` from `@smolstep/smolstep/deno` does the same synchronously, without a thread-pool round trip
   * per token (lib/runs/token_cipher.ts).
   */
  stateTokenCipher?: TokenCipherFactory;
  /** Lifetime of stateless tokens in seconds (default 7 days). */
  stateTtlSeconds?: number;
  /**
   * Serve stateless runs of agents with tools that need approval on a server without a store (off by default).
   * Without a store a used token cannot be recognised, so replaying an approved token runs the tool again; with a
   * store every token steps once and this option changes nothing.
   */
  allowStatelessReplay?: boolean;
  /** How long a step may hold a KV run's lock before another step may take over (default 5 minutes). */
  lockTtlMs?: number;
  /**
   * Seconds a finished KV run is kept (with its blobs, cancel flag and idempotency data) before the store drops
   * it; default 7 days. See lib/runs/run_lifecycle.ts.
   */
  runTtlSeconds?: number;
  /**
   * Seconds an active KV run (`running`, `awaiting_input`) may go without a step before it reads as `expired` and
   * refuses further steps (409 `run_finished`); it is then kept `runTtlSeconds` more. Default 7 days.
   */
  idleRunTtlSeconds?: number;
  /**
   * How long a step may take from the request's arrival, model retries and waits included (default 90% of
   * `lockTtlMs`; must be shorter than it). Past it the step is abandoned (504 `step_timeout`), the run unchanged.
   */
  stepTimeoutMs?: number;
  /**
   * How long a request's body may take to arrive (default 30 s; a step's, at most `stepTimeoutMs`). Past it 408
   * `request_timeout`: a client that sends its headers and then nothing holds no connection open.
   */
  maxBodyWaitMs?: number;
  /**
   * Steps this process runs at once (default 100); a step request beyond it is refused with 503 `overloaded` and
   * `Retry-After` before any store work. Background steps are counted but never refused.
   */
  maxStepsInFlight?: number;
  /** Continues background and webhook runs, one step per message. Without it, `background` runs are refused. */
  queue?: RunQueue;
  /** Verifies `POST /v1/hooks/{agent}` deliveries and signs result callbacks. */
  webhookSecret?: string;
  /** Agents that accept webhooks, and how a payload becomes a task. */
  webhooks?: Record<string, WebhookConfig>;
  /** Accepted clock difference for signed webhook timestamps (default 300 s). */
  webhookToleranceSeconds?: number;
  /** Attempts for a background step whose model call fails, and for callbacks (default 5). */
  maxAttempts?: number;
  /** First retry delay of background steps and callbacks, doubling per attempt (default 1000 ms). */
  retryDelayMs?: number;
  /** How long one result-callback attempt may take before it counts as failed (default 10,000 ms). */
  callbackTimeoutMs?: number;
  /** Server-Sent Events of `GET /v1/runs/{runId}/events`. */
  events?: EventStreamOptions;
  /**
   * Where background steps publish their model deltas and `GET /v1/runs/{id}/events` listens: this process by
   * default (`DeltaChannel`). On Workers, where the queue consumer is another invocation, a
   * `DurableObjectDeltaRelay` (`@smolstep/smolstep/cloudflare`) carries them through the run's Durable Object.
   */
  deltas?: DeltaRelay;
  /**
   * Which URLs from outside the server may fetch (run callbacks, image URLs). Default: public https hosts only;
   * `{ allowPrivateNetwork: true }` for local development, `allowHosts` for internal services.
   */
  egress?: EgressPolicy;
  /**
   * Counters and histograms, served on `GET /metrics` (Prometheus text) and mirrored to OpenTelemetry. Default: a
   * new `Metrics` for this app; `false` turns metrics off (no `/metrics`, no store timing).
   */
  metrics?: Metrics | false;
  /**
   * Where the log lines go: one JSON line per request (method, route pattern, status, duration, request id, run id)
   * and the server's warnings and errors. Default: `createLogger({ level: "warn" })` (JSON on the console; errors and
   * 5xx requests only); the example entries read SMOLSTEP_LOG_LEVEL (default `info`). See lib/logging/logger.ts.
   */
  logger?: Logger;
  /**
   * Where the steps' spans go (`invoke_agent`, `chat`, `execute_tool`; lib/tracing/). Default: the global provider of
   * `@opentelemetry/api`, which records nothing until one is registered.
   */
  tracerProvider?: TracerProvider;
  /**
   * Serve `GET /openapi.json` (the API's OpenAPI 3.1 document) and `GET /docs` (a page rendering it); both public,
   * like `/health`. Default true; `false` turns them off.
   */
  openapi?: boolean;
  /**
   * The playground page (`GET /`) and the tool demo pages (`GET /tools/{name}`); default true, `false` turns them
   * off. The pages are public and hold no data: they call `/v1/*` with the API key typed into the page.
   */
  playground?: boolean;
  /**
   * Capabilities from their own entries, mounted after the built-in routes (e.g. `mcpServer()` from
   * `@smolstep/smolstep/mcp/server`): the core bundle carries only what is passed here.
   */
  plugins?: AppPlugin[];
}

/** Routes from another entry: mounted on the app, behind its API keys, described in its OpenAPI document. */
export interface AppPlugin {
  /** Hono paths the plugin serves; they need `Authorization: Bearer <key>` when the app has `apiKeys`. */
  readonly paths: readonly string[];
  /** The plugin's routes, as `/openapi.json` describes them. */
  readonly routes: readonly RouteDoc[];
  /** Mounts the routes; `ctx` holds the app's services (agents, runs, background runner, admission). */
  mount(app: Hono, ctx: AppContext): void;
}

/** What the route modules share: the options and the services built from them. */
export class AppContext {
  readonly runs: RunService | undefined;
  readonly tokens: StateTokenCodec | undefined;
  readonly background: BackgroundRunner | undefined;
  /** The model deltas of background steps, for the runs' event streams. */
  readonly deltas: DeltaRelay;
  /** Remembers used stateless tokens (where there is a store), so a replayed one runs nothing. */
  readonly ledger: TokenLedger | undefined;
  readonly metrics: Metrics | undefined;
  readonly logger: Logger;
  /** The agent of each step request, noted by the route once known (a KV run's is in its record): a metric label. */
  readonly stepAgents: WeakMap<Request, string> = new WeakMap();
  /**
   * The run each request created, noted by its route (`POST /v1/agents/{name}/runs`, `POST /v1/chat/completions`,
   * MCP `tools/call`; the first one of a batch): the `runId` of the request's log line.
   */
  readonly requestRuns: WeakMap<Request, string> = new WeakMap();
  /**
   * Work still going on behind a response that has started (MCP `tools/call` answered as SSE), settling with the
   * status its answer would have had: the request's log line is written when it ends.
   */
  readonly stillAnswering: WeakMap<Request, Promise<number>> = new WeakMap();
  /** Steps in flight in this process, and the cap on them. */
  readonly admission: StepAdmission;
  /** A step's time from its request's arrival (see `stepSignal`). */
  readonly stepTimeoutMs: number;
  /** Every step of this app, HTTP and background, to abort when it stops (`Smolstep.shutdown`). */
  readonly shutdown: StepShutdown = new StepShutdown();

  constructor(readonly options: AppOptions) {
    this.deltas = options.deltas ?? new DeltaChannel();
    this.logger = options.logger ?? createLogger({ level: "warn" });
    const metrics = options.metrics === false ? undefined : options.metrics ?? new Metrics({ logger: this.logger });
    this.metrics = metrics;
    // One count of steps in flight: admission's, which the gauge follows.
    this.admission = new StepAdmission(options.maxStepsInFlight, metrics && ((d) => metrics.stepsInFlight.add({}, d)));
    const store = options.store && metrics ? instrumentStore(options.store, metrics) : options.store;
    this.runs = store
      ? new RunService(store, {
        lockTtlMs: options.lockTtlMs,
        stepTimeoutMs: options.stepTimeoutMs,
        runTtlSeconds: options.runTtlSeconds,
        idleRunTtlSeconds: options.idleRunTtlSeconds,
        stateTtlSeconds: options.stateTtlSeconds,
        observer: metrics,
        shutdown: this.shutdown,
        modelObserver: metrics,
        tracerProvider: options.tracerProvider,
      })
      : undefined;
    // Stateless steps hold no lock, but their token claim lasts the lock's time: the same bound applies.
    this.stepTimeoutMs = this.runs?.stepTimeoutMs ??
      options.stepTimeoutMs ?? defaultStepTimeoutMs(options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS);
    // A short secret would fail every stateless request with a 500: refuse it when the app is made instead.
    if (options.secret !== undefined && options.secret.length > 0 && options.secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigurationError(
        `The state secret (SMOLSTEP_SECRET) must be at least ${MIN_SECRET_LENGTH} characters long ` +
          `(got ${options.secret.length}).`,
      );
    }
    this.tokens = options.secret
      ? new StateTokenCodec(options.secret, {
        encrypt: options.encryptState,
        ttlSeconds: options.stateTtlSeconds,
        cipher: options.stateTokenCipher,
      })
      : undefined;
    this.ledger = this.runs ? new TokenLedger(this.runs.store, { claimTtlMs: this.runs.lockTtlMs }) : undefined;
    this.background = this.runs && options.queue
      ? new BackgroundRunner({
        runs: this.runs,
        queue: options.queue,
        agents: options.agents,
        callbackSecret: options.webhookSecret,
        maxAttempts: options.maxAttempts,
        retryDelayMs: options.retryDelayMs,
        callbackTimeoutMs: options.callbackTimeoutMs,
        egress: options.egress,
        steps: metrics,
        deltas: this.deltas,
        logger: this.logger,
      })
      : undefined;
    for (const [name, config] of Object.entries(options.webhooks ?? {})) {
      const check = config.callbackUrl ? checkUrl(config.callbackUrl, options.egress) : undefined;
      if (check && !check.allowed) {
        throw new ConfigurationError(`webhooks.${name}.callbackUrl is refused by the egress policy (${check.reason}).`);
      }
    }
  }

  /**
   * Runs a step request under the client's signal and the step's deadline, counted from now; the app's shutdown
   * aborts it too.
   */
  withStepDeadline<T>(requestSignal: AbortSignal, step: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withStepDeadline(this.stepTimeoutMs, requestSignal, step, this.shutdown);
  }

  /** 400 `url_not_allowed` when the egress policy refuses a URL a request asks the server to fetch. */
  requireAllowedUrl(field: string, url: string): void {
    const check = checkUrl(url, this.options.egress);
    if (!check.allowed) throw new HttpError(400, "url_not_allowed", `${field} is not allowed: ${check.reason}.`);
  }

  agent(name: string): MultiStepAgent {
    const agent = Object.hasOwn(this.options.agents, name) ? this.options.agents[name] : undefined;
    if (!agent) throw new HttpError(404, "agent_not_found", `No agent named '${name}'.`);
    return agent;
  }

  /** The agent of a KV run's step, once its record is read; notes it for the step's metric label. */
  stepAgent(request: Request, name: string): MultiStepAgent {
    this.stepAgents.set(request, name);
    return this.agent(name);
  }

  /** Notes the run a request created, for its log line (the first, if it creates several). */
  noteRun(request: Request, runId: string): void {
    if (!this.requestRuns.has(request)) this.requestRuns.set(request, runId);
  }

  requireRuns(): RunService {
    if (!this.runs) throw new HttpError(501, "store_not_configured", "This server keeps no runs; use stateless mode.");
    return this.runs;
  }

  requireTokens(): StateTokenCodec {
    if (!this.tokens) {
      throw new HttpError(501, "stateless_not_configured", "Stateless runs need a server secret (SMOLSTEP_SECRET).");
    }
    return this.tokens;
  }

  requireBackground(): BackgroundRunner {
    if (!this.background) {
      throw new HttpError(501, "queue_not_configured", "Background runs need a store and a queue on this server.");
    }
    return this.background;
  }
}
