import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import serverJson from "../../functions/server.json" with { type: "json" };
import { npmPackagesOf } from "../../scripts/build_npm.ts";

const ROOT = new URL("../../", import.meta.url);

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

const packageOf = (id: string) => id.replace(/^npm:\/?/, "").replace(/^((?:@[^/@]+\/)?[^/@]+)@.*$/, "$1");

// `deno task` installs every package of its config's imports and lock before running any task (deno.json: 700+ MB of
// node_modules), so the server has a config of its own: `deno task --config functions/server.json start`.
Deno.test("the server's own config installs only what functions/deno.ts needs", async (t) => {
  await t.step("no node_modules, its own lock, the same unstable features", () => {
    assert.equal(serverJson.nodeModulesDir, "none");
    assert.equal(serverJson.lock, "./deno.lock");
    assert.deepEqual(serverJson.unstable, denoJson.unstable);
    assert.match(serverJson.tasks.start, /^deno run --config server\.json .*deno\.ts$/);
  });

  await t.step("its imports are deno.json's, entry for entry, and exactly the packages the entry imports", async () => {
    const root = denoJson.imports as Record<string, string>;
    for (const [name, target] of Object.entries(serverJson.imports)) assert.equal(target, root[name], name);
    const mapped = new Set(Object.keys(serverJson.imports).map((name) => name.replace(/\/$/, "")));
    assert.deepEqual([...mapped].sort(), [...await npmPackagesOf("functions/deno.ts")].sort());
    for (const heavy of NOT_FOR_THE_SERVER) assert.ok(!mapped.has(heavy), heavy);
  });

  await t.step("functions/deno.lock pins the versions deno.lock pins, and nothing heavy", async () => {
    const read = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, ROOT)));
    const [server, main] = [await read("functions/deno.lock"), await read("deno.lock")];
    for (const [specifier, version] of Object.entries(server.specifiers)) {
      assert.equal(version, main.specifiers[specifier], specifier);
    }
    assert.deepEqual(
      Object.keys(server.specifiers).map(packageOf).sort(),
      [...await npmPackagesOf("functions/deno.ts")].sort(),
    );
    const locked = Object.keys(server.npm).map(packageOf);
    for (const heavy of NOT_FOR_THE_SERVER) assert.ok(!locked.includes(heavy), `${heavy} is in functions/deno.lock`);
  });

  await t.step("functions/deno.ts resolves with the server's config alone", async () => {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", "functions/server.json", "functions/deno.ts"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(info.success, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: { kind: string; error?: string }[] };
    assert.deepEqual(graph.modules.filter((m) => m.error).map((m) => m.error), []);
    assert.ok(graph.modules.some((m) => m.kind === "npm"), "npm packages come from the global cache");
  });
});
