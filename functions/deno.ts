/**
 * Deno / Deno Deploy entry: the example agents over HTTP, runs kept in Deno KV.
 * Local: `deno task start` (KV in ./.smolstep/kv.sqlite3 unless SMOLSTEP_KV_PATH says otherwise).
 */
import { createApp } from "../lib/mod.ts";
import { createDenoQuickJSExecutor } from "../lib/executors/quickjs_wasm_deno.ts";
import { DenoKvStore } from "../lib/stores/deno_kv_store.ts";
import { createAgents } from "./agents.ts";
import { serverOptions } from "./server_options.ts";

const env = Deno.env.toObject();
const kv = await Deno.openKv(env.SMOLSTEP_KV_PATH || undefined);
const options = serverOptions(env);
if (!options.secret) {
  options.secret = crypto.randomUUID() + crypto.randomUUID();
  console.warn("SMOLSTEP_SECRET is not set: stateless tokens are signed with a random key and die with this process.");
}

const agents = createAgents(env, { executor: createDenoQuickJSExecutor() });
const app = createApp({ agents, store: new DenoKvStore(kv), ...options });

Deno.serve({ port: Number(env.PORT ?? 8000), hostname: env.HOSTNAME ?? "127.0.0.1" }, app.fetch);
