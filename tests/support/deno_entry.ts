import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./wrangler_dev.ts";

const ENTRY = fileURLToPath(new URL("../../functions/deno.ts", import.meta.url));

/**
 * Runs `functions/deno.ts` as its own process (as `deno task start` does) and waits until it answers. With
 * `stdoutUnread`, nothing reads its stdout until it is stopped: a log collector that has fallen behind (the pipe fills
 * after 64 KiB on Linux).
 */
export async function startDenoEntry(env: Record<string, string>, options: { stdoutUnread?: boolean } = {}) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--unstable-kv", ENTRY],
    env: { ...env, PORT: String(port), HOSTNAME: "127.0.0.1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let readStdout: () => void = () => {};
  const stdoutRead = options.stdoutUnread ? new Promise<void>((resolve) => readStdout = resolve) : Promise.resolve();
  const streams = Promise.all([
    stdoutRead.then(() => new Response(child.stdout).text()),
    new Response(child.stderr).text(),
  ]);
  const output = streams.then((texts) => texts.join("\n"));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/health`);
      await response.body?.cancel();
      if (response.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      readStdout();
      await child.status;
      throw new Error(`functions/deno.ts did not start:\n${await output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    /** Stops the process abruptly (SIGKILL), as a crash or a redeploy would. */
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      readStdout();
      await child.status;
      return await output;
    },
    /** Stops the process as a process manager does (SIGTERM): it writes the log lines it holds, then exits. */
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      readStdout();
      const status = await child.status;
      const [stdout, stderr] = await streams;
      return { status, stdout, stderr, output: `${stdout}\n${stderr}` };
    },
  };
}

/** The environment that points the entry's example agents at a scripted model server, with a KV file in `dir`. */
export function scriptedModelEnv(modelUrl: string, dir: string): Record<string, string> {
  return {
    OPENAI_BASE_URL: modelUrl,
    OPENAI_API_KEY: "test-key",
    SMOLSTEP_MODEL: "scripted-model",
    SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
  };
}
