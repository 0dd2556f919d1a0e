/**
 * `@smolstep/smolstep/deno`: what a Deno deployment adds to the core. Runs in Deno KV (`DenoKvStore`), background
 * runs on the Deno KV queue (`DenoKvQueue`), the code sandbox on worker threads (`createDenoQuickJSExecutor`, which
 * loads the packaged QuickJS WASM; it runs on Node too), DNS lookups for the egress guard (`denoResolveHost`), and
 * stateless tokens sealed without a thread-pool round trip (`nodeTokenCipher`, for `stateTokenCipher`), and JSON log
 * lines written a batch at a time (`createBufferedJsonSink`, for `createLogger({ sink })`).
 *
 * ```ts
 * import { ToolCallingAgent } from "@smolstep/smolstep";
 * import { createSmolstep } from "@smolstep/smolstep/server";
 * import { DenoKvQueue, DenoKvStore } from "@smolstep/smolstep/deno";
 *
 * const kv = await Deno.openKv();
 * const queue = new DenoKvQueue(kv);
 * const smolstep = createSmolstep({ agents, store: new DenoKvStore(kv), queue, secret: Deno.env.get("SECRET") });
 * queue.listen(smolstep.handleQueueMessage);
 * Deno.serve(smolstep.app.fetch);
 * ```
 *
 * @module
 */

export { DENO_KV_MAX_VALUE_BYTES, DenoKvStore } from "./deno_kv_store.ts";
export { DenoKvQueue } from "./deno_kv_queue.ts";
export { createDenoQuickJSExecutor, loadQuickJSWasm } from "./quickjs_wasm_deno.ts";
export type { DenoQuickJSExecutorOptions } from "./quickjs_wasm_deno.ts";
export type { IsolatedExecutorOptions, IsolatedQuickJSExecutor } from "../../executors/isolated_executor.ts";
export { denoResolveHost } from "./deno_resolve_host.ts";
export { nodeTokenCipher } from "./node_token_cipher.ts";
export type { DenoResolveHostOptions } from "./deno_resolve_host.ts";
export { createBufferedJsonSink } from "./buffered_json_sink.ts";
export type { BufferedJsonSink, BufferedJsonSinkOptions, LogWriter } from "./buffered_json_sink.ts";
