import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import cliJson from "../../functions/cli.json" with { type: "json" };
import { checkOwnConfig } from "../support/own_config_checks.ts";

/** Never in the command line's own install (nor so in its compiled binary): transformers.js is left out on purpose. */
const NOT_FOR_THE_CLI = [
  "@huggingface/transformers",
  "onnxruntime-node",
  "onnxruntime-web",
  "sharp",
  "wrangler",
  "workerd",
  "playwright-core",
  "typescript",
];

// `deno compile` embeds every package its config maps (with deno.json, 750 MB of node_modules), so the command line
// has a lean config of its own, as the server has: `deno task --config functions/cli.json compile` (or `cli`).
Deno.test("the command line's own config holds only what functions/cli.ts imports", async (t) => {
  await t.step("no node_modules, its own lock, the same unstable features, tasks to run and to compile", () => {
    assert.equal(cliJson.nodeModulesDir, "none");
    assert.equal(cliJson.lock, "./cli.lock");
    assert.deepEqual(cliJson.unstable, denoJson.unstable);
    assert.match(cliJson.tasks.cli, /^deno run --config cli\.json .* cli\.ts$/);
    assert.match(
      cliJson.tasks.compile,
      /^deno compile --config cli\.json .*--include \.\.\/lib\/adapters\/deno\/quickjs_worker\.ts /,
    );
  });

  await checkOwnConfig(t, {
    path: "functions/cli.json",
    lock: "functions/cli.lock",
    entry: "functions/cli.ts",
    imports: cliJson.imports,
    heavy: NOT_FOR_THE_CLI,
  });
});
