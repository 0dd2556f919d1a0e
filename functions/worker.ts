/**
 * Cloudflare Workers entry: the example agents over HTTP, runs kept in Durable Objects (binding `STATE`, one
 * object per run; Workers KV `RUNS` as a fallback), background
 * runs continued through a Cloudflare Queue (binding `STEPS`, consumed by `queue()` below: `consumeQueueBatch` in
 * lib/adapters/cloudflare/queue_consumer.ts). On a cron trigger (`[triggers] crons` in wrangler.toml), `scheduled()`
 * gives the keys older servers left without an expiry (`blobs/`, `runs/`, `tokens/`, `hooks/`) theirs, a slice at a
 * time (SMOLSTEP_LEGACY_SWEEP, old name SMOLSTEP_SHARED_BLOB_SWEEP: dry-run by default, apply, off;
 * lib/adapters/cloudflare/scheduled_legacy_sweep.ts).
 * Vars and secrets (OPENAI_API_KEY, SMOLSTEP_SECRET, ...) come from `env`, so everything is built on first use.
 */
// Workers cannot compile WASM from bytes: the sandbox's .wasm is imported as a module (wrangler CompiledWasm rule).
// @ts-types="../lib/executors/quickjs_wasm_module.d.ts"
import quickjsWasm from "../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm";
import { QuickJSExecutor } from "../lib/mod.ts";
import { createSmolstep, type Smolstep } from "../lib/server.ts";
import { CloudflareKvStore, type WorkersKvNamespace } from "../lib/adapters/cloudflare/cloudflare_kv_store.ts";
import { CloudflareQueue, type WorkersQueue } from "../lib/adapters/cloudflare/cloudflare_queue.ts";
import {
  type DurableObjectNamespaceLike,
  DurableObjectStore,
} from "../lib/adapters/cloudflare/durable_object_store.ts";
import { DurableObjectDeltaRelay } from "../lib/adapters/cloudflare/durable_object_delta_relay.ts";
import { consumeQueueBatch, type WorkersMessageBatch } from "../lib/adapters/cloudflare/queue_consumer.ts";
import { scheduledLegacySweep, sweepMode } from "../lib/adapters/cloudflare/scheduled_legacy_sweep.ts";
import { legacyExpiryRules } from "../lib/runs/legacy_keys.ts";
import { RunLifecycle } from "../lib/runs/run_lifecycle.ts";
import type { StateStore } from "../lib/stores/state_store.ts";
import { type AgentEnv, createAgents } from "./agents.ts";
import { pluginsFromEnv } from "./plugins_from_env.ts";
import { lifecycleFromEnv, loggerFromEnv, playgroundFromEnv, type ServerEnv, serverOptions } from "./server_options.ts";

// The Durable Object class behind DurableObjectStore: workerd finds it by this export name (wrangler.toml).
export { SmolstepStateObject } from "../lib/adapters/cloudflare/durable_object_class.ts";

interface WorkerEnv extends AgentEnv, ServerEnv {
  /** Runs, one Durable Object each (strongly consistent: the default). */
  STATE?: DurableObjectNamespaceLike;
  /** Workers KV, used for runs only when no STATE binding exists (eventually consistent). */
  RUNS?: WorkersKvNamespace;
  STEPS?: WorkersQueue;
  /** What `scheduled()` does with keys older servers left without an expiry: dry-run (default), apply, off. */
  SMOLSTEP_LEGACY_SWEEP?: string;
  /** The old name of SMOLSTEP_LEGACY_SWEEP, read when that is unset. */
  SMOLSTEP_SHARED_BLOB_SWEEP?: string;
}

let smolstep: Smolstep | undefined;

function storeOf(env: WorkerEnv): StateStore | undefined {
  return env.STATE ? new DurableObjectStore(env.STATE) : env.RUNS ? new CloudflareKvStore(env.RUNS) : undefined;
}

/** The default of SMOLSTEP_FOLLOW_MAX_READS on Workers: the free plan's 50 subrequests per request, less a margin. */
const WORKERS_FOLLOW_MAX_READS = 40;

function build(env: WorkerEnv): Smolstep {
  // Deployed Workers freeze the clock while code runs: the interrupt budget bounds tight loops (see QuickJSExecutor).
  const executor = new QuickJSExecutor({ wasm: quickjsWasm, maxInterruptChecks: 40_000 });
  const agents = createAgents(env, { executor });
  return createSmolstep({
    agents,
    store: storeOf(env),
    queue: env.STEPS ? new CloudflareQueue(env.STEPS) : undefined,
    // The queue consumer is another invocation than the events stream: deltas go through the run's object.
    deltas: env.STATE ? new DurableObjectDeltaRelay(env.STATE) : undefined,
    // A request following a run reads it at most 40 times (SMOLSTEP_FOLLOW_MAX_READS): each read is a subrequest,
    // 50 per request on the free plan, and the request makes a few others (the run's creation, its queue message,
    // listening to its deltas). Then it ends as its protocol lets the client go on (see `events.maxReads`).
    ...serverOptions(env, Object.keys(agents), { followMaxReads: WORKERS_FOLLOW_MAX_READS }),
    // Off on Workers unless SMOLSTEP_PLAYGROUND=1: a deployment exposes no page it did not ask for.
    playground: playgroundFromEnv(env, false),
    // MCP on /mcp: with the STEPS queue a tool call is a background run this request follows (no step runs in the
    // request, so a long run meets no per-request limit); without it the steps run in the request.
    plugins: pluginsFromEnv(env),
  });
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    smolstep ??= build(env);
    return smolstep.app.fetch(request, env, ctx as never);
  },

  queue(batch: WorkersMessageBatch, env: WorkerEnv): Promise<void> {
    smolstep ??= build(env);
    return consumeQueueBatch(batch, smolstep.handleQueueMessage);
  },

  scheduled(_controller: unknown, env: WorkerEnv): Promise<void> {
    return scheduledLegacySweep(storeOf(env), {
      mode: sweepMode(env.SMOLSTEP_LEGACY_SWEEP, env.SMOLSTEP_SHARED_BLOB_SWEEP),
      rules: legacyExpiryRules(new RunLifecycle(lifecycleFromEnv(env))),
      log: loggerFromEnv(env),
    });
  },
};
