import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import cliJson from "../../functions/cli.json" with { type: "json" };
import { npmPackagesOf } from "../../scripts/build_npm.ts";

const ROOT = new URL("../../", import.meta.url);
const packageOf = (id: string) => id.replace(/^npm:\/?/, "").replace(/^((?:@[^/@]+\/)?[^/@]+)@.*$/, "$1");

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

  await t.step("its imports are deno.json's, entry for entry, and exactly the packages the entry imports", async () => {
    const root = denoJson.imports as Record<string, string>;
    for (const [name, target] of Object.entries(cliJson.imports)) assert.equal(target, root[name], name);
    const mapped = new Set(Object.keys(cliJson.imports).map((name) => name.replace(/\/$/, "")));
    assert.deepEqual([...mapped].sort(), [...await npmPackagesOf("functions/cli.ts")].sort());
    for (const heavy of NOT_FOR_THE_CLI) assert.ok(!mapped.has(heavy), heavy);
  });

  await t.step("functions/cli.lock pins the versions deno.lock pins, and nothing heavy", async () => {
    const read = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, ROOT)));
    const [cli, main] = [await read("functions/cli.lock"), await read("deno.lock")];
    for (const [specifier, version] of Object.entries(cli.specifiers)) {
      assert.equal(version, main.specifiers[specifier], specifier);
    }
    const locked = Object.keys(cli.npm).map(packageOf);
    for (const heavy of NOT_FOR_THE_CLI) assert.ok(!locked.includes(heavy), `${heavy} is in functions/cli.lock`);
  });

  await t.step("functions/cli.ts resolves with that config and its lock as they are (--frozen)", async () => {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--frozen", "--config", "functions/cli.json", "functions/cli.ts"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(info.success, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: { kind: string; error?: string }[] };
    assert.deepEqual(graph.modules.filter((m) => m.error).map((m) => m.error), []);
  });
});
