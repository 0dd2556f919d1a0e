/**
 * `@smolstep/smolstep/cloudflare`: what a Cloudflare Workers deployment adds to the core. Runs in Durable Objects
 * (`DurableObjectStore`, one object per run, backed by the `SmolstepStateObject` class your Worker exports) or in
 * Workers KV (`CloudflareKvStore`, eventually consistent), background runs on Cloudflare Queues (`CloudflareQueue`).
 * Bindings are typed structurally: no `@cloudflare/workers-types` needed.
 *
 * ```ts
 * import { createSmolstep } from "@smolstep/smolstep";
 * import { DurableObjectStore } from "@smolstep/smolstep/cloudflare";
 * export { SmolstepStateObject } from "@smolstep/smolstep/cloudflare";
 * ```
 *
 * @module
 */

export { CloudflareKvStore, WORKERS_KV_MAX_VALUE_BYTES } from "../stores/cloudflare_kv_store.ts";
export type { WorkersKvNamespace } from "../stores/cloudflare_kv_store.ts";
export { DURABLE_OBJECT_MAX_VALUE_BYTES, DurableObjectStore } from "../stores/durable_object_store.ts";
export type {
  DurableObjectNamespaceLike,
  DurableObjectStoreOptions,
  DurableObjectStubLike,
} from "../stores/durable_object_store.ts";
export { SmolstepStateObject } from "../stores/durable_object_class.ts";
export type { DurableObjectContextLike } from "../stores/durable_object_class.ts";
export { CloudflareQueue } from "../runs/cloudflare_queue.ts";
export type { WorkersQueue } from "../runs/cloudflare_queue.ts";
