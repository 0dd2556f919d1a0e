/**
 * The smolstep server under load, as a process the driver can start, measure and stop: the Deno entry
 * (functions/deno.ts) on a Deno KV file, or the Workers entry (functions/worker.ts) under `wrangler dev`, with runs
 * in local Durable Objects. Both get the scripted model and every SMOLSTEP_* variable of the driver's environment.
 */
import { startWranglerDev } from "../../tests/support/wrangler_dev.ts";
import {
  directoryBytes,
  findProcess,
  freePort,
  readGroupRss,
  spawnDeno,
  sqliteBytes,
  waitUntilAnswers,
} from "./processes.ts";
import { readRuns, type StoredRun } from "./run_audit.ts";

export interface SmolstepTarget {
  label: string;
  url: string;
  /** Resident memory of the server (all its processes), in bytes. */
  rss(): Promise<number | undefined>;
  /** CPU seconds the server has used so far (undefined where it cannot be read). */
  cpuSeconds(): Promise<number | undefined>;
  /** Bytes of run storage on disk. */
  storageBytes(): Promise<number>;
  /** Every stored run, where the storage can be read from outside (the Deno KV file); undefined otherwise. */
  runs?(): Promise<Array<[string, StoredRun]>>;
  stop(): Promise<void>;
}

const SECRET = "load-test-secret-0123456789abcdef";

function smolstepEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([key]) => key.startsWith("SMOLSTEP_")));
}

/**
 * functions/deno.ts as `deno task start` runs it, with its KV file at `kvPath`. With `cpuProfDir`, the server runs
 * under `--cpu-prof` and writes a V8 CPU profile (`*.cpuprofile`, for Chrome DevTools) there when it is stopped.
 */
export async function startDenoTarget(
  modelUrl: string,
  kvPath: string,
  options: { cpuProfDir?: string } = {},
): Promise<SmolstepTarget> {
  const port = freePort();
  const entry = options.cpuProfDir === undefined ? "../../functions/deno.ts" : "./profiled_entry.ts";
  const profiling = options.cpuProfDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`];
  // Deno asks for all permissions to open a file under /dev (e.g. a KV file in /dev/shm).
  const permissions = kvPath.startsWith("/dev/")
    ? ["--allow-all"]
    : ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];
  const { process } = spawnDeno("smolstep (functions/deno.ts)", [
    ...permissions,
    "--unstable-kv",
    ...profiling,
    new URL(entry, import.meta.url).pathname,
  ], {
    env: {
      ...smolstepEnv(),
      OPENAI_BASE_URL: modelUrl,
      OPENAI_API_KEY: "load-test",
      SMOLSTEP_MODEL: "scripted",
      SMOLSTEP_KV_PATH: kvPath,
      SMOLSTEP_SECRET: SECRET,
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswers(`${url}/health`, process);
  } catch (error) {
    await process.stop();
    throw error;
  }
  return {
    label: `functions/deno.ts (pid ${process.pid}), Deno KV file ${kvPath}`,
    url,
    rss: () => process.rss(),
    cpuSeconds: () => process.cpuSeconds(),
    storageBytes: () => sqliteBytes(kvPath),
    runs: () => readRuns(kvPath),
    stop: () => process.stop(),
  };
}

/** functions/worker.ts under `wrangler dev --local` (workerd), Durable Object state in `stateDir`. */
export async function startWorkersTarget(modelUrl: string, stateDir: string): Promise<SmolstepTarget> {
  const dev = await startWranglerDev({
    config: new URL("../../wrangler.toml", import.meta.url).pathname,
    readyPath: "/health",
    persistTo: stateDir,
    vars: {
      ...smolstepEnv(),
      OPENAI_BASE_URL: modelUrl,
      OPENAI_API_KEY: "load-test",
      SMOLSTEP_MODEL: "scripted",
      SMOLSTEP_SECRET: SECRET,
    },
  });
  // wrangler runs detached, so its pid is its process group: workerd and helpers included.
  const wrangler = await findProcess(`--persist-to ${stateDir}`);
  return {
    label: `functions/worker.ts under wrangler dev (pgid ${wrangler ?? "?"}), Durable Objects in ${stateDir}`,
    url: dev.url,
    rss: () => wrangler === undefined ? Promise.resolve(undefined) : readGroupRss(wrangler),
    cpuSeconds: () => Promise.resolve(undefined),
    storageBytes: () => directoryBytes(stateDir),
    stop: () => dev.close(),
  };
}
