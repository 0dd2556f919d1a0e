/**
 * `@smolstep/smolstep/cloudflare`: what a Cloudflare Workers deployment adds to the core. Runs in Durable Objects
 * (`DurableObjectStore`, one object per run, backed by the `SmolstepStateObject` class your Worker exports) or in
 * Workers KV (`CloudflareKvStore`, eventually consistent), background runs on Cloudflare Queues (`CloudflareQueue`
 * sends, `consumeQueueBatch` is the Worker's `queue()` loop), their model deltas relayed to event streams through
 * the run's object (`DurableObjectDeltaRelay`).
 * Bindings are typed structurally: no `@cloudflare/workers-types` needed.
 *
 * ```ts
 * import { createSmolstep } from "@smolstep/smolstep/server";
 * import { DurableObjectStore } from "@smolstep/smolstep/cloudflare";
 * export { SmolstepStateObject } from "@smolstep/smolstep/cloudflare";
 * ```
 *
 * @module
 */

export { CloudflareKvStore, WORKERS_KV_MAX_VALUE_BYTES } from "./cloudflare_kv_store.ts";
export type { WorkersKvNamespace } from "./cloudflare_kv_store.ts";
export { DURABLE_OBJECT_MAX_VALUE_BYTES, DurableObjectStore } from "./durable_object_store.ts";
export type {
  DurableObjectNamespaceLike,
  DurableObjectStoreOptions,
  DurableObjectStubLike,
} from "./durable_object_store.ts";
export { SmolstepStateObject } from "./durable_object_class.ts";
export { DurableObjectDeltaRelay } from "./durable_object_delta_relay.ts";
export type { DurableObjectContextLike } from "./durable_object_class.ts";
export { CloudflareQueue } from "./cloudflare_queue.ts";
export type { WorkersQueue } from "./cloudflare_queue.ts";
export { consumeQueueBatch } from "./queue_consumer.ts";
export type { WorkersMessageBatch, WorkersQueueMessage } from "./queue_consumer.ts";
