import assert from "node:assert/strict";
import { join } from "node:path";
import { playgroundFromEnv } from "../../functions/server_options.ts";
import { startDenoEntry } from "../support/deno_entry.ts";

Deno.test("SMOLSTEP_PLAYGROUND: '1' on, '0' off, else the entry's default", () => {
  assert.equal(playgroundFromEnv({}, true), true);
  assert.equal(playgroundFromEnv({}, false), false);
  assert.equal(playgroundFromEnv({ SMOLSTEP_PLAYGROUND: "1" }, false), true);
  assert.equal(playgroundFromEnv({ SMOLSTEP_PLAYGROUND: "0" }, true), false);
});

Deno.test("Deno entry: the playground is served at / by default, and not with SMOLSTEP_PLAYGROUND=0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smolstep-playground-entry-" });
  for (const [env, status] of [[{}, 200], [{ SMOLSTEP_PLAYGROUND: "0" }, 404]] as const) {
    const server = await startDenoEntry({ ...env, SMOLSTEP_KV_PATH: join(dir, `kv${status}.sqlite3`) });
    try {
      const page = await fetch(`${server.url}/`);
      const text = await page.text();
      assert.equal(page.status, status, JSON.stringify(env));
      if (status === 200) assert.match(text, /smolstep playground/);
      const script = await fetch(`${server.url}/playground.js`);
      await script.body?.cancel();
      assert.equal(script.status, status);
    } finally {
      await server.kill();
    }
  }
  await Deno.remove(dir, { recursive: true });
});
