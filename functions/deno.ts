/**
 * Deno / Deno Deploy entry: the example agents over HTTP, runs kept in Deno KV, background runs continued on the
 * Deno KV queue. Local: `deno task start`.
 */
import { ConfigurationError } from "../lib/errors.ts";
import { createSmolstep } from "../lib/server.ts";
import { denoResolveHost } from "../lib/adapters/deno/deno_resolve_host.ts";
import { createDenoQuickJSExecutor } from "../lib/adapters/deno/quickjs_wasm_deno.ts";
import { DenoKvQueue } from "../lib/adapters/deno/deno_kv_queue.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { nodeTokenCipher } from "../lib/adapters/deno/node_token_cipher.ts";
import { createBufferedJsonSink } from "../lib/adapters/deno/buffered_json_sink.ts";
import { pluginsFromEnv } from "./plugins_from_env.ts";
import { createAgents } from "./agents.ts";
import { egressFromEnv, loggerFromEnv, playgroundFromEnv, serverOptions, wholeNumber } from "./server_options.ts";

// A setting that stops the start (a malformed number, an unknown log level, a short secret...) is reported as one
// line naming it, not as an uncaught error with a stack trace; anything else fails as it would.
const refuseStart = (event: PromiseRejectionEvent) => {
  if (!(event.reason instanceof ConfigurationError)) return;
  event.preventDefault();
  console.error(`smolstep: ${event.reason.message}`);
  Deno.exit(1);
};
globalThis.addEventListener("unhandledrejection", refuseStart);

const env = Deno.env.toObject();
// Log lines are buffered and written a batch at a time (not one blocking console write each): a batch waits up to
// 20 ms for more lines, so a busy server makes one write per dozen requests, not one per request (a write per
// tick was ~3% of the main thread under load); whatever is held is written when the process stops (see the signal
// handlers at the end) and on a normal exit.
const logs = createBufferedJsonSink({ flushDelayMs: 20 });
logs.install();
const logger = loggerFromEnv(env, logs.sink);
// How long a stop waits for the requests in flight (see the signal handlers at the end).
const graceMs = wholeNumber(env, "SMOLSTEP_SHUTDOWN_GRACE_MS", 0) ?? 10_000;
const kv = await Deno.openKv(env.SMOLSTEP_KV_PATH || undefined);
// Code steps run on worker threads without permissions ("worker-options" is enabled in deno.json), with a time
// limit of SMOLSTEP_CODE_TIME_LIMIT_MS (default 30 s); the threads start now.
const executor = createDenoQuickJSExecutor({
  timeLimitMs: wholeNumber(env, "SMOLSTEP_CODE_TIME_LIMIT_MS"),
  workerPermissions: "none",
});
executor.warmUp().catch((error) => logger.warn(`The sandbox threads did not start: ${error.message}`));
// One egress policy for callbacks, media URLs and the researcher's web tools. Opt-in: look host names up first,
// refusing names that point at private addresses.
const egress = egressFromEnv(env);
if (env.SMOLSTEP_EGRESS_RESOLVE_DNS === "1") egress.resolveHost = denoResolveHost();
const agents = createAgents(env, { executor, egress });
const options = {
  ...serverOptions(env, Object.keys(agents)),
  egress,
  logger,
  playground: playgroundFromEnv(env, true),
  // MCP on /mcp: a tool call starts a background run on the KV queue and follows it (lib/mcp/server/).
  plugins: pluginsFromEnv(env),
  // Stateless tokens sealed by node:crypto, synchronously: no thread-pool round trip per token under load.
  stateTokenCipher: nodeTokenCipher,
};
if (!options.secret) {
  options.secret = crypto.randomUUID() + crypto.randomUUID();
  logger.warn("SMOLSTEP_SECRET is not set: stateless tokens are signed with a random key and die with this process.");
}

const queue = new DenoKvQueue(kv);
const smolstep = createSmolstep({ agents, store: new DenoKvStore(kv), queue, ...options });
queue.listen(smolstep.handleQueueMessage);

const server = Deno.serve(
  { port: wholeNumber(env, "PORT", 0) ?? 8000, hostname: env.HOSTNAME ?? "127.0.0.1" },
  smolstep.app.fetch,
);
globalThis.removeEventListener("unhandledrejection", refuseStart);

// SIGTERM / SIGINT (a redeploy, Ctrl+C): take no new connections, let the steps and requests in flight finish for
// at most SMOLSTEP_SHUTDOWN_GRACE_MS (default 10 s), then abort the steps still running (HTTP and background ones):
// each gives its run back unchanged, its lock or its stateless token's claim released, and a background step's queue
// message is delivered again to the next process. Those releases, and the answers of the aborted requests (503
// `shutting_down`), get at most 2 s more; then the log lines held are written (at most 2 s: a log pipe nobody reads
// must not keep the process up) and the process exits with 128 + the signal's number. A second signal exits at once.
const RELEASE_MS = 2_000;
let stopping = false;
for (const [signal, number] of [["SIGTERM", 15], ["SIGINT", 2]] as const) {
  try {
    Deno.addSignalListener(signal, async () => {
      if (stopping) Deno.exit(128 + number);
      stopping = true;
      const until = Date.now() + graceMs + RELEASE_MS;
      const drained = server.shutdown();
      await within(smolstep.shutdown({ graceMs }), graceMs + RELEASE_MS);
      await within(drained, Math.max(until - Date.now(), 0));
      await within(logs.flush(), 2_000);
      Deno.exit(128 + number);
    });
  } catch { /* Windows has no SIGTERM */ }
}

function within(work: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise((resolve) => timer = setTimeout(resolve, ms));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
