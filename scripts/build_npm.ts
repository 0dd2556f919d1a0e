/**
 * `deno task build:npm`: the npm package in `dist/npm/` (ESM JavaScript and `.d.ts` in `esm/`, a `package.json`
 * whose `exports` mirror `deno.json`'s). The TypeScript compiler (npm `typescript`, fetched on first use) emits the
 * files: `rewriteRelativeImportExtensions` turns `./x.ts` imports into `./x.js`, and `noCheck` skips type checking
 * (`deno task check` does that), so Deno-only globals in the Deno adapter need no Node typings. Bare imports (the
 * `deno.json` import map's `npm:` packages) become the package's dependencies with the map's version ranges; the
 * heavy model backends and the Hub client are optional peers, installed only by those who use `./hf`, `./transformers`, `./mcp` or `./hub`.
 *
 * Usage: deno run -A scripts/build_npm.ts [outDir]
 */

const ROOT = new URL("../", import.meta.url);
/** The TypeScript compiler that emits the package (also used by the package test to type-check a consumer). */
export const TYPESCRIPT = "npm:typescript@6.0.3";
/** What the emitted code targets and assumes (Node 20, browsers, Workers): no runtime's own typings. */
export const TARGET = { target: "ES2022", lib: ["ES2024", "DOM", "DOM.Iterable"], types: [] as string[] };
/** Optional peers: installed by the user only for the entry that needs them. */
const OPTIONAL_PEERS = new Set([
  "@huggingface/hub",
  "@huggingface/inference",
  "@huggingface/transformers",
  "@modelcontextprotocol/sdk",
]);
/** Worker-thread scripts, loaded by URL rather than imported: compiled as entries of their own. */
const EXTRA_ENTRIES = ["lib/adapters/deno/quickjs_worker.ts", "lib/adapters/node/quickjs_worker.ts"];

interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

/** Builds the package into `outDir` (a path relative to the repository, or absolute) and returns its path. */
export async function buildNpm(outDir = "dist/npm"): Promise<string> {
  const out = new URL(outDir.endsWith("/") ? outDir : `${outDir}/`, ROOT);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as DenoJson;
  await Deno.remove(out, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(out, { recursive: true });

  const entries = [...Object.values(config.exports), ...EXTRA_ENTRIES].map((path) => path.replace(/^\.\//, ""));
  const tsconfig = {
    compilerOptions: {
      ...TARGET,
      module: "ESNext",
      moduleResolution: "Bundler",
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
      declaration: true,
      noCheck: true,
      skipLibCheck: true,
      rootDir: new URL("lib/", ROOT).pathname,
      outDir: new URL("esm/", out).pathname,
      newLine: "lf",
    },
    files: entries.map((path) => new URL(path, ROOT).pathname),
  };
  const tsconfigPath = new URL("tsconfig.build.json", out);
  await Deno.writeTextFile(tsconfigPath, JSON.stringify(tsconfig, null, 2));
  const tsc = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${TYPESCRIPT}/tsc`, "-p", tsconfigPath.pathname],
    cwd: ROOT,
  }).output();
  if (!tsc.success) throw new Error(`tsc failed (exit ${tsc.code})`);
  await Deno.remove(tsconfigPath);

  const packages = await importedPackages(entries);
  const [dependencies, peerDependencies] = [{} as Record<string, string>, {} as Record<string, string>];
  for (const name of [...packages].sort()) {
    const mapped = config.imports[name] ?? config.imports[`${name}/`];
    const range = mapped?.match(/^npm:\/?(?:@[^/@]+\/)?[^/@]+@([^/]+)/)?.[1];
    if (!range) throw new Error(`${name} is imported by lib/ but has no npm: version in deno.json's imports`);
    (OPTIONAL_PEERS.has(name) ? peerDependencies : dependencies)[name] = range;
  }

  const exports: Record<string, { types: string; default: string }> = {};
  for (const [entry, path] of Object.entries(config.exports)) {
    const base = path.replace(/^\.\/lib\//, "./esm/").replace(/\.ts$/, "");
    exports[entry] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  const pkg = {
    name: config.name,
    version: config.version,
    description: "smolagents-style agents for edge runtimes, one step per invocation.",
    license: config.license,
    type: "module",
    engines: { node: ">=20" },
    exports,
    files: ["esm/", "README.md", "LICENSE"],
    dependencies,
    peerDependencies,
    peerDependenciesMeta: Object.fromEntries(Object.keys(peerDependencies).map((name) => [name, { optional: true }])),
  };
  await Deno.writeTextFile(new URL("package.json", out), JSON.stringify(pkg, null, 2) + "\n");
  for (const file of ["README.md", "LICENSE"]) await Deno.copyFile(new URL(file, ROOT), new URL(file, out));
  return out.pathname;
}

/** The npm packages the entries' module graphs import (static and dynamic imports), from `deno info`. */
async function importedPackages(entries: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const entry of entries) for (const name of await npmPackagesOf(entry)) found.add(name);
  return found;
}

/**
 * The npm packages a module's graph imports directly or through other modules of this repository (not their own
 * dependencies), by `deno info`: `npm:/name@1.2.3/sub` specifiers, or files under `node_modules/` when Deno resolves
 * through a node_modules directory.
 */
export async function npmPackagesOf(entry: string): Promise<Set<string>> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  if (!info.success) throw new Error(`deno info ${entry} failed`);
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: { kind: string; specifier: string }[] };
  const found = new Set<string>();
  for (const { specifier } of graph.modules) {
    const path = specifier.startsWith("npm:")
      ? specifier.replace(/^npm:\/?/, "").replace(/^((?:@[^/@]+\/)?[^/@]+)@[^/]*/, "$1")
      : specifier.split("/node_modules/").slice(1).at(-1);
    if (!path) continue;
    const parts = path.split("/");
    found.add(path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
  }
  return found;
}

if (import.meta.main) {
  const dir = await buildNpm(Deno.args[0]);
  console.log(`npm package written to ${dir}`);
}
