/**
 * Writing bytes to a file, on runtimes that have files. No static import of `node:` modules, so bundles for
 * Workers and browsers stay clean: Deno is used through `Deno.writeFile`, Node (and Bun) through
 * `process.getBuiltinModule` (Node 20.16+ / 22.3+). Elsewhere `save()` throws; use the bytes or a data: URL.
 */

type WriteFile = (path: string, bytes: Uint8Array) => Promise<void>;
type MakeDirectory = (path: string, options: { recursive: true }) => Promise<unknown>;

interface RuntimeGlobals {
  Deno?: { writeFile?: WriteFile; mkdir?: MakeDirectory };
  process?: {
    getBuiltinModule?: (name: string) => { writeFile?: WriteFile; mkdir?: MakeDirectory } | undefined;
  };
}

/** The runtime's file writer, or undefined where there is no file system to write to. */
function fileWriter(): WriteFile | undefined {
  const runtime = globalThis as unknown as RuntimeGlobals;
  const deno = runtime.Deno?.writeFile;
  if (deno) return (path, bytes) => deno(path, bytes);
  const fs = runtime.process?.getBuiltinModule?.("node:fs/promises");
  const node = fs?.writeFile;
  return node ? (path, bytes) => node.call(fs, path, bytes) : undefined;
}

export async function writeFileBytes(path: string, bytes: Uint8Array, what: string): Promise<void> {
  const write = fileWriter();
  if (!write) {
    throw new Error(
      `${what}.save() needs a runtime with a file system (Deno, Node); this one has none (Workers, browsers). ` +
        "Read the content with bytes() or toDataUrl() instead",
    );
  }
  await write(path, bytes);
}

/** Creates `path` and its parents (no error when it exists), where there is a file system (`tool.save`). */
export async function makeDirectory(path: string, what: string): Promise<void> {
  const runtime = globalThis as unknown as RuntimeGlobals;
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
