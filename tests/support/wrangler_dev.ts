/**
 * Runs a Worker under workerd with `wrangler dev` (local mode) for tests, and tears it down completely.
 *
 *   const dev = await startWranglerDev({ config: "tests/support/workers/store_harness.toml" });
 *   try { await fetch(dev.url) } finally { await dev.close() }
 *
 * Wrangler runs as `deno run -A npm:wrangler@4.153.0 dev ...` in its own process group (detached), so `close()`
 * can signal wrangler, its workerd children and anything else they started, all at once. The server binds
 * 127.0.0.1 on a free port; state goes to a temp dir unless `persistTo` is given. Metrics are off.
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: wrangler runs from here so Deno uses our deno.json and node_modules (workerd, esbuild). */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Exactly this version: newer ones fail to resolve in our environment. */
export const WRANGLER = "npm:wrangler@4.153.0";

export interface WranglerDevOptions {
  /** Path to the wrangler config (toml/json/jsonc), absolute or relative to the current directory. */
  config: string;
  /** Passed as `--var KEY:VALUE` (plain-text bindings). */
  vars?: Record<string, string>;
  /** Port to serve on; a free one by default. */
  port?: number;
  /** Directory for local KV / D1 / DO state; a temp dir (deleted on close) by default. */
  persistTo?: string;
  /** How long to wait for the first answer; 90 s by default (a cold npm cache is slow). */
  readyTimeoutMs?: number;
  /** Path polled until the Worker answers (any status counts); "/" by default. */
  readyPath?: string;
  /** Extra `wrangler dev` arguments. */
  args?: string[];
  /** Extra environment variables for wrangler. */
  env?: Record<string, string>;
}

export interface WranglerDev {
  /** Base URL without a trailing slash, e.g. "http://127.0.0.1:40123". */
  url: string;
  port: number;
  /** Milliseconds from spawn until the Worker first answered. */
  startupMs: number;
  /** Everything wrangler printed so far (stdout and stderr, interleaved; the last 1 MB). */
  logs(): string;
  /** Stops wrangler and every process of its group; waits until they are gone. Idempotent. */
  close(): Promise<void>;
}

const MAX_LOG_CHARS = 1_000_000;
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export async function startWranglerDev(
  options: WranglerDevOptions,
): Promise<WranglerDev> {
  const config = resolve(options.config);
  const port = options.port ?? freePort();
  const scratch = await Deno.makeTempDir({ prefix: "smolstep-wrangler-" });
  // deno-fmt-ignore
  const args = [
    "run", "-A", WRANGLER, "dev", "--config", config, "--local",
    "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(freePort()),
    "--persist-to", options.persistTo ?? `${scratch}/state`, "--show-interactive-dev-session=false",
  ];
  for (const [key, value] of Object.entries(options.vars ?? {})) {
    args.push("--var", `${key}:${value}`);
  }
  args.push(...options.args ?? []);

  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: {
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: `${scratch}/logs`,
      NO_COLOR: "1",
      FORCE_COLOR: "0",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();

  let log = "";
  const append = (text: string) => {
    log += text.replace(ANSI, "");
    if (log.length > MAX_LOG_CHARS) log = log.slice(-MAX_LOG_CHARS);
  };
  const pumps = [child.stdout, child.stderr].map(async (stream) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      append(text);
    }
  });
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await stopGroup(child.pid, status);
      await Promise.allSettled(pumps);
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
    })();

  const url = `http://127.0.0.1:${port}`;
  const deadline = started + (options.readyTimeoutMs ?? 90_000);
  while (true) {
    if (exited) {
      await close();
      throw new Error(
        `wrangler dev exited (${JSON.stringify(await status)}) before serving ${url}.\n${log}`,
      );
    }
    if (performance.now() > deadline) {
      await close();
      throw new Error(
        `wrangler dev did not answer on ${url} within ${options.readyTimeoutMs ?? 90_000} ms.\n${log}`,
      );
    }
    if (await answers(url + (options.readyPath ?? "/"))) break;
    await sleep(250);
  }
  const startupMs = Math.round(performance.now() - started);
  return { url, port, startupMs, logs: () => log, close };
}

/** True once anything answers HTTP at `url`. */
async function answers(url: string): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5_000);
  try {
    const response = await fetch(url, { signal: controller.signal });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * SIGTERM to the whole group (wrangler shuts workerd down), SIGKILL after 10 s, then SIGKILL again for any
 * straggler, and wait until no process of the group is left.
 */
async function stopGroup(
  pgid: number,
  status: Promise<Deno.CommandStatus>,
): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((done) => timer = setTimeout(() => done("timeout"), 10_000));
  const first = await Promise.race([status, timedOut]);
  clearTimeout(timer);
  signalGroup(pgid, "SIGKILL");
  if (first === "timeout") await status;
  for (let i = 0; i < 100 && signalGroup(pgid, 0); i++) await sleep(50);
  if (signalGroup(pgid, 0)) {
    throw new Error(`processes of group ${pgid} survived SIGKILL`);
  }
}

/** Sends `signal` to process group `pgid`; false if the group no longer exists. */
function signalGroup(pgid: number, signal: Deno.Signal | 0): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The API key and secret `startExampleWorker` sets. */
export const EXAMPLE_WORKER_KEY = "worker-key";

/**
 * The Workers entry (wrangler.toml) under `wrangler dev`, its example agents on the scripted model at `modelUrl`,
 * with a secret and the API key {@link EXAMPLE_WORKER_KEY}; `vars` add to (or override) those.
 */
export function startExampleWorker(modelUrl: string, vars: Record<string, string> = {}): Promise<WranglerDev> {
  return startWranglerDev({
    config: "wrangler.toml",
    readyPath: "/health",
    vars: {
      OPENAI_BASE_URL: modelUrl,
      OPENAI_API_KEY: "test-key",
      SMOLSTEP_MODEL: "scripted-model",
      SMOLSTEP_SECRET: "worker-secret-0123456789abcdef",
      SMOLSTEP_API_KEYS: EXAMPLE_WORKER_KEY,
      ...vars,
    },
  });
}
