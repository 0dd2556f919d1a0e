import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import serverJson from "../../functions/server.json" with { type: "json" };
import { checkOwnConfig } from "../support/own_config_checks.ts";

/** Never needed to serve: model runtimes, the Workers toolchain, browsers, test and build tools. */
const NOT_FOR_THE_SERVER = [
  "@huggingface/transformers",
  "@huggingface/inference",
  "onnxruntime-node",
  "onnxruntime-web",
  "sharp",
  "wrangler",
  "workerd",
  "miniflare",
  "playwright-core",
  "fast-check",
  "typescript",
  "@opentelemetry/sdk-metrics",
];

// `deno task` installs every package of its config's imports and lock before running any task (deno.json: 700+ MB of
// node_modules), so the server has a config of its own: `deno task --config functions/server.json start`.
Deno.test("the server's own config installs only what functions/deno.ts needs", async (t) => {
  await t.step("no node_modules, its own lock, the same unstable features", () => {
    assert.equal(serverJson.nodeModulesDir, "none");
    assert.equal(serverJson.lock, "./deno.lock");
    assert.deepEqual(serverJson.unstable, denoJson.unstable);
    assert.match(serverJson.tasks.start, /^deno run --config server\.json .*deno\.ts$/);
  });

  await checkOwnConfig(t, {
    path: "functions/server.json",
    lock: "functions/deno.lock",
    entry: "functions/deno.ts",
    imports: serverJson.imports,
    heavy: NOT_FOR_THE_SERVER,
  });
});
