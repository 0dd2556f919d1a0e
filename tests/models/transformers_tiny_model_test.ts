/**
 * The committed tiny model matches its generator, and transformers.js stays out of the public entry's module graph
 * (the Workers bundle starts from lib/mod.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { tinyModelFiles, writeTinyModel } from "../support/make_tiny_model.ts";

const committed = new URL("../support/tiny_model/", import.meta.url);

Deno.test("tests/support/tiny_model/ is what make_tiny_model.ts writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tiny_model_" });
  try {
    await writeTinyModel(dir);
    let total = 0;
    for (const path of Object.keys(tinyModelFiles())) {
      const fresh = await Deno.readFile(join(dir, path));
      const kept = await Deno.readFile(new URL(path, committed));
      assert.deepEqual(kept, fresh, `${path} is stale: run deno run -A tests/support/make_tiny_model.ts`);
      total += kept.length;
    }
    assert.ok(total < 64 * 1024, `the tiny model stays tiny (${total} bytes)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Module specifiers in the static and dynamic import graph of `entry`. */
async function moduleGraph(entry: string): Promise<string[]> {
  const root = new URL("../../", import.meta.url);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: Array<{ specifier: string }> };
  return info.modules.map((module) => module.specifier);
}

Deno.test("transformers.js is only reachable from lib/models/transformers_model.ts", async () => {
  const heavy = (specifier: string) => /@huggingface\/transformers|onnxruntime/.test(specifier);
  for (const entry of ["lib/mod.ts", "functions/worker.ts"]) {
    assert.deepEqual((await moduleGraph(entry)).filter(heavy), [], `${entry} must not import transformers.js`);
  }
  assert.ok((await moduleGraph("lib/models/transformers_model.ts")).some(heavy), "the control: it is found there");
});
