import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { npmPackagesOf } from "../../scripts/build_npm.ts";

const ROOT = new URL("../../", import.meta.url);
const packageOf = (id: string) => id.replace(/^npm:\/?/, "").replace(/^((?:@[^/@]+\/)?[^/@]+)@.*$/, "$1");

/** An entry's own lean config (functions/server.json, functions/cli.json), beside deno.json. */
export interface OwnConfig {
  /** The config's path from the repository root, e.g. "functions/server.json". */
  path: string;
  /** Its lockfile's path from the root. */
  lock: string;
  /** The entry it installs for, e.g. "functions/deno.ts". */
  entry: string;
  imports: Record<string, string>;
  /** Packages it must never hold, nor its lock. */
  heavy: readonly string[];
}

/**
 * The checks every lean config passes: its imports are deno.json's, exactly the packages its entry imports and
 * nothing heavy; its lock pins deno.lock's versions of exactly those packages; the entry resolves with it alone.
 */
export async function checkOwnConfig(t: Deno.TestContext, config: OwnConfig): Promise<void> {
  const packages = [...await npmPackagesOf(config.entry)].sort();

  await t.step("its imports are deno.json's, entry for entry, and exactly the packages the entry imports", () => {
    const root = denoJson.imports as Record<string, string>;
    for (const [name, target] of Object.entries(config.imports)) assert.equal(target, root[name], name);
    const mapped = new Set(Object.keys(config.imports).map((name) => name.replace(/\/$/, "")));
    assert.deepEqual([...mapped].sort(), packages);
    for (const heavy of config.heavy) assert.ok(!mapped.has(heavy), heavy);
  });

  await t.step(`${config.lock} pins the versions deno.lock pins, and nothing heavy`, async () => {
    const read = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, ROOT)));
    const [own, main] = [await read(config.lock), await read("deno.lock")];
    for (const [specifier, version] of Object.entries(own.specifiers)) {
      assert.equal(version, main.specifiers[specifier], specifier);
    }
    assert.deepEqual(Object.keys(own.specifiers).map(packageOf).sort(), packages);
    const locked = Object.keys(own.npm).map(packageOf);
    for (const heavy of config.heavy) assert.ok(!locked.includes(heavy), `${heavy} is in ${config.lock}`);
  });

  await t.step(`${config.entry} resolves with ${config.path} and its lock as they are (--frozen)`, async () => {
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--frozen", "--config", config.path, config.entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(info.success, new TextDecoder().decode(info.stderr));
    const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: { kind: string; error?: string }[] };
    assert.deepEqual(graph.modules.filter((m) => m.error).map((m) => m.error), []);
    assert.ok(graph.modules.some((m) => m.kind === "npm"), "npm packages come from the global cache");
  });
}
