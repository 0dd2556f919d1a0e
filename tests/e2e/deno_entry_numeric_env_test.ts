import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/wrangler_dev.ts";

const ENTRY = fileURLToPath(new URL("../../functions/deno.ts", import.meta.url));

/**
 * SMOLSTEP_CODE_TIME_LIMIT_MS and PORT are among the README's numeric variables: a malformed one stops the start,
 * naming the variable, like the others (the time limit used to fall back to the 30 s default silently: "5000ms" gave a
 * sandbox 6 times the limit asked for; PORT went through a bare Number()).
 */
for (const [name, value] of [["SMOLSTEP_CODE_TIME_LIMIT_MS", "5000ms"], ["PORT", "80a"]]) {
  Deno.test(`Deno entry: a malformed ${name} stops the start, naming the variable`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "smolstep-code-limit-env-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--unstable-kv", ENTRY],
      env: {
        SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
        PORT: String(freePort()),
        HOSTNAME: "127.0.0.1",
        [name]: value,
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    // A start that is not stopped serves until killed: give it far longer than a refused start takes.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = new Promise<"serving">((resolve) => timer = setTimeout(() => resolve("serving"), 30_000));
    const ended = await Promise.race([child.status, started]);
    clearTimeout(timer);
    if (ended === "serving") child.kill("SIGKILL");
    await child.status;
    const [stdout, stderr] = await output;
    await Deno.remove(dir, { recursive: true });
    if (ended === "serving") assert.fail(`the entry started anyway:\n${stdout}\n${stderr}`);
    assert.notEqual(ended.code, 0);
    assert.match(stderr, new RegExp(`${name} must be a whole number`));
  });
}
