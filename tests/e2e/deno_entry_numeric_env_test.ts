import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/wrangler_dev.ts";

const ENTRY = fileURLToPath(new URL("../../functions/deno.ts", import.meta.url));

/**
 * SMOLSTEP_CODE_TIME_LIMIT_MS and PORT are among the README's numeric variables: a malformed one stops the start,
 * naming the variable, like the others (the time limit used to fall back to the 30 s default silently: "5000ms" gave a
 * sandbox 6 times the limit asked for; PORT went through a bare Number()). The other settings that stop the start do
 * it the same way: one line on stderr naming the variable, no uncaught error and stack trace.
 */
const REFUSED: Array<[string, string, RegExp]> = [
  ["SMOLSTEP_CODE_TIME_LIMIT_MS", "5000ms", /SMOLSTEP_CODE_TIME_LIMIT_MS must be a whole number/],
  ["PORT", "80a", /PORT must be a whole number/],
  ["SMOLSTEP_LOCK_TTL_MS", "60000ms", /SMOLSTEP_LOCK_TTL_MS must be a whole number/],
  ["SMOLSTEP_SECRET", "short", /SMOLSTEP_SECRET\) must be at least 16 characters/],
  ["SMOLSTEP_LOG_LEVEL", "loud", /SMOLSTEP_LOG_LEVEL: The log level must be one of/],
  ["SMOLSTEP_WEBHOOK_SCHEMES", "standard,gitlab", /SMOLSTEP_WEBHOOK_SCHEMES: unknown scheme\(s\) gitlab/],
];
for (const [name, value, expected] of REFUSED) {
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
    assert.match(stderr, expected);
    assert.match(stderr, /^smolstep: /m);
    assert.doesNotMatch(stderr, /Uncaught|\n\s+at /, "one line, no stack trace");
  });
}
