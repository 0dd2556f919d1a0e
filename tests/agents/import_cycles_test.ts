import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";

/**
 * Import cycles between files of lib/ that exist today and that another change removes. Each entry is one cycle's
 * files (relative to lib/, sorted). Empty it, never grow it: a new cycle fails the test below.
 */
const KNOWN_CYCLES: string[][] = [];

const LIB = new URL("../../lib/", import.meta.url);
const CONFIG = new URL("../../deno.json", import.meta.url);

async function libFiles(dir: URL): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) files.push(...await libFiles(url));
    else if (entry.name.endsWith(".ts")) files.push(url.href);
  }
  return files;
}

/** The module graph of every file in lib/ from `deno info --json`: code and type imports alike. */
async function libGraph(): Promise<Map<string, Set<string>>> {
  const dir = await Deno.makeTempDir();
  try {
    const root = `${dir}/all_lib.ts`;
    const files = await libFiles(LIB);
    await Deno.writeTextFile(root, files.map((file) => `import "${file}";`).join("\n") + "\n");
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", fromFileUrl(CONFIG), root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
      modules: Array<{
        specifier: string;
        dependencies?: Array<{ code?: { specifier?: string }; type?: { specifier?: string } }>;
      }>;
    };
    const graph = new Map<string, Set<string>>();
    for (const module of info.modules) {
      if (!module.specifier.startsWith(LIB.href)) continue;
      const edges = new Set<string>();
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
          if (target?.startsWith(LIB.href)) edges.add(target.slice(LIB.href.length));
        }
      }
      graph.set(module.specifier.slice(LIB.href.length), edges);
    }
    assert.equal(graph.size, files.length, "deno info saw every file of lib/");
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

Deno.test("lib/ has no import cycles between files (type imports counted, deno info --json)", async (t) => {
  const graph = await libGraph();

  await t.step("the cycle finder finds a circle of three files", () => {
    const sample = new Map([["a.ts", new Set(["b.ts"])], ["b.ts", new Set(["c.ts"])], ["c.ts", new Set(["a.ts"])]]);
    assert.deepEqual(cycles(sample), [["a.ts", "b.ts", "c.ts"]]);
  });

  await t.step("only the known cycles remain", () => {
    assert.deepEqual(cycles(graph), KNOWN_CYCLES);
  });

  await t.step("lib/agents/step_types.ts is a leaf of lib/agents/", () => {
    const leaves = new Set(["agent_events.ts", "code_parsing.ts"].map((name) => `agents/${name}`));
    const inAgents = [...graph.get("agents/step_types.ts")!].filter((file) => file.startsWith("agents/"));
    assert.deepEqual(inAgents.filter((file) => !leaves.has(file)), []);
  });
});
