/**
 * Creating a directory on runtimes that have files, found at call time as lib/types/save_file.ts finds its writer
 * (no static `node:` import, so the entry bundles for Workers): `Deno.mkdir`, else Node's (and Bun's)
 * `process.getBuiltinModule("node:fs/promises").mkdir`.
 */

type MakeDirectory = (path: string, options: { recursive: true }) => Promise<unknown>;

interface RuntimeDirectories {
  Deno?: { mkdir?: MakeDirectory };
  process?: { getBuiltinModule?: (name: string) => { mkdir?: MakeDirectory } | undefined };
}

/** Creates `path` and its parents (no error when it exists). Throws where there is no file system. */
export async function makeDirectory(path: string, what: string): Promise<void> {
  const runtime = globalThis as unknown as RuntimeDirectories;
  const deno = runtime.Deno;
  if (deno?.mkdir) return void await deno.mkdir(path, { recursive: true });
  const fs = runtime.process?.getBuiltinModule?.("node:fs/promises");
  if (!fs?.mkdir) {
    throw new Error(
      `${what}.save() needs a runtime with a file system (Deno, Node); this one has none (Workers, browsers).`,
    );
  }
  await fs.mkdir(path, { recursive: true });
}
