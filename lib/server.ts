/**
 * `@smolstep/smolstep/server`: the HTTP server and what only it uses. `createSmolstep` builds the Hono app (agents,
 * runs, steps, tools, webhooks, the OpenAI-compatible endpoint, the API document and the playground) and the queue
 * consumer of background runs; the in-memory store and queue, metrics, request logs, webhook signatures and the step
 * time limit come with it. Agents, models and tools come from the main entry (`@smolstep/smolstep`), runtime stores
 * and queues from `@smolstep/smolstep/deno` and `@smolstep/smolstep/cloudflare`.
 *
 * ```ts
 * import { ToolCallingAgent } from "@smolstep/smolstep";
 * import { createSmolstep, MemoryStore } from "@smolstep/smolstep/server";
 *
 * const smolstep = createSmolstep({ agents, store: new MemoryStore(), secret: Deno.env.get("SECRET") });
 * Deno.serve(smolstep.app.fetch);
 * ```
 *
 * @module
 */

// The server
export { createApp, createSmolstep } from "./http/app.ts";
export type { AppOptions, Smolstep } from "./http/app.ts";
export type { Health } from "./http/health.ts";
export type { WebhookConfig, WebhookTask } from "./http/webhooks.ts";
export { StepTimeoutError } from "./runs/step_deadline.ts";
export { ShuttingDownError } from "./runs/step_shutdown.ts";

// Stores and queues (runtime ones: `@smolstep/smolstep/deno`, `@smolstep/smolstep/cloudflare`)
export type { PutOptions, PutResult, StateStore, StoredValue } from "./stores/state_store.ts";
export { MemoryStore } from "./stores/memory_store.ts";
export { InProcessQueue, isQueueMessage } from "./runs/run_queue.ts";
export type { QueueHandler, QueueMessage, RunQueue } from "./runs/run_queue.ts";
export { webCryptoTokenCipher } from "./runs/token_cipher.ts";
export type { TokenCipher, TokenCipherFactory } from "./runs/token_cipher.ts";
export { canListKeys, KeyListingError } from "./stores/key_listing.ts";
export type { KeyListing, KeyPage, ListedKey, ListOptions } from "./stores/key_listing.ts";
export type { KindCounts, LegacySweepOptions, LegacySweepReport } from "./runs/legacy_expiry_sweep.ts";
export type { LegacyKind, LegacyPrefix } from "./runs/legacy_keys.ts";

// Metrics (Prometheus text on GET /metrics, OpenTelemetry through @opentelemetry/api)
export { Metrics } from "./metrics/metrics.ts";
export type { MetricsOptions } from "./metrics/metrics.ts";

// Logs: one JSON line per request and the server's warnings and errors, through a replaceable sink
export { consoleJsonSink, createLogger, LOG_LEVELS, parseLogLevel } from "./logging/logger.ts";
export type { Logger, LoggerOptions, LogLevel, LogRecord, LogSink } from "./logging/logger.ts";
export type { RunMode, RunObserver, StepObserver, StepOutcomeKind } from "./runs/run_observer.ts";

// Webhooks (verify what senders sign, sign what smolstep sends)
export { verifyWebhook, WEBHOOK_SCHEME_NAMES } from "./webhooks/verify_webhook.ts";
export type { VerifyWebhookOptions } from "./webhooks/verify_webhook.ts";
export { signStandardWebhook } from "./webhooks/standard_webhooks.ts";
export { WebhookVerificationError } from "./webhooks/webhook_scheme.ts";
export type { VerifiedDelivery, WebhookSchemeName } from "./webhooks/webhook_scheme.ts";
