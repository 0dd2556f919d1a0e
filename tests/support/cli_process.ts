import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The permissions of `deno task cli` (deno.json). */
export const CLI_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write", "--unstable-kv"];
export const CLI_ENTRY = "functions/cli.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI process: no model keys from the machine, colours decided by the test. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return { ...env, ...extra };
}

/** Starts `functions/cli.ts` as `deno task cli` does, its stdin fed `stdin` (then closed), stdout/stderr piped. */
export function spawnCli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLI_PERMISSIONS, CLI_ENTRY, ...args],
    cwd: ROOT,
    clearEnv: true,
    env: cliEnv(options.env),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const fed = writer.write(new TextEncoder().encode(options.stdin ?? "")).then(() => writer.close());
  const result = (async (): Promise<CliResult> => {
    const [stdout, stderr, status] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.status,
      fed.catch(() => {}),
    ]);
    return { code: status.code, stdout, stderr };
  })();
  return { child, result };
}

/** Runs the CLI to its end. */
export function runCli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  return spawnCli(args, options).result;
}

/** The repository's root (the CLI's working directory in tests). */
export const CLI_ROOT = ROOT;
