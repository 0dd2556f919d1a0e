import assert from "node:assert/strict";

type Dependency = { code?: { specifier: string }; type?: { specifier: string } };
type Graph = { modules: Array<{ specifier: string; dependencies?: Dependency[] }> };

/** Folder of a module under lib/ (`.` for lib/ itself), or null outside lib/. */
function folderOf(specifier: string, lib: string): string | null {
  if (!specifier.startsWith(lib)) return null;
  const path = specifier.slice(lib.length);
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
}

/** Strongly connected groups of more than one folder (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    stack: string[] = [],
    found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      for (let w = stack.pop()!;; w = stack.pop()!) {
        group.push(w);
        if (w === v) break;
      }
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The barrels: the package's main entry and its server entry re-export from every folder. */
const BARRELS = ["lib/mod.ts", "lib/server.ts"];

Deno.test("no import cycles between folders of lib/ (type imports counted; the entry barrels aside)", async () => {
  const root = new URL("../", import.meta.url);
  const modules: Graph["modules"] = [];
  for (const barrel of BARRELS) {
    const output = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", barrel], cwd: root }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    modules.push(...(JSON.parse(new TextDecoder().decode(output.stdout)) as Graph).modules);
  }
  const graph: Graph = { modules };
  const lib = new URL("lib/", root).href;
  const edges = new Map<string, Set<string>>();
  const via = new Map<string, string>();
  for (const module of graph.modules) {
    const from = folderOf(module.specifier, lib);
    if (from === null || BARRELS.some((barrel) => module.specifier === new URL(barrel, root).href)) continue;
    for (const dependency of module.dependencies ?? []) {
      for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
        const to = target && folderOf(target, lib);
        if (!to || to === from) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
        via.set(`${from} -> ${to}`, `${module.specifier.slice(lib.length)} imports ${target!.slice(lib.length)}`);
      }
    }
  }
  assert.ok(edges.size > 10, "the graph was read");
  const found = cycles(edges);
  const explain = found.map((group) =>
    group.join(" <-> ") + ": " +
    [...via].filter(([edge]) => group.some((a) => group.some((b) => edge === `${a} -> ${b}`))).map(([, why]) => why)
      .join("; ")
  );
  assert.deepEqual(explain, []);
});
