/**
 * README.md stays true to the code: every `deno task` it names exists, and every TypeScript snippet type-checks
 * against the code (`deno check`), so the README cannot drift from the API it shows. Snippets import the package by
 * its name (`@smolstep/smolstep/...`, mapped here to the files `deno.json` exports) or by path from the repository's
 * root. Names a snippet uses but defines elsewhere in the README (an agent's `model`, the `weather` tool, an MCP
 * `client`, ...) are declared with the type they have there; imports of packages this repository does not depend on
 * are declared `any` (listed in EXTERNAL, nothing else).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Names snippets use without defining them, with what they are where the README defines them. */
const DEFINED_ELSEWHERE: Record<string, string> = {
  model: `import("@smolstep/smolstep").OpenAIServerModel`,
  weather: `import("@smolstep/smolstep").Tool`,
  ToolCallingAgent: `typeof import("@smolstep/smolstep").ToolCallingAgent`,
  env: "Record<string, string>",
  token: "string",
  key: "string",
  add: `import("@smolstep/smolstep/hub").Tool`,
  agents: `Record<string, import("@smolstep/smolstep").MultiStepAgent>`,
  store: `import("@smolstep/smolstep/server").MemoryStore`,
  queue: `import("@smolstep/smolstep/server").InProcessQueue`,
  apiKeys: "string[]",
  client: `import("@modelcontextprotocol/sdk/client/index.js").Client`,
};

/** Packages a snippet may import that this repository does not depend on (shown for the reader's own project). */
const EXTERNAL = new Set(["@opentelemetry/exporter-trace-otlp-http"]);

interface Snippet {
  line: number;
  code: string;
}

function snippets(readme: string): Snippet[] {
  const found: Snippet[] = [];
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```ts\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j] !== `${indent}\`\`\``; j++) body.push(lines[j].slice(indent.length));
    found.push({ line: i + 1, code: body.join("\n") });
    i = j;
  }
  return found;
}

/** Whether the snippet binds `name` itself (an import, a declaration or a destructuring). */
function binds(code: string, name: string): boolean {
  const declared = new RegExp(`\\b(const|let|var|using|function|class)\\s+(\\{[^}]*\\b${name}\\b[^}]*\\}|${name}\\b)`);
  const imported = new RegExp(`import\\s+(type\\s+)?(\\{[^}]*\\b${name}\\b[^}]*\\}|${name}\\b)[^;]*from`);
  return declared.test(code) || imported.test(code);
}

/** The snippet as a module: external imports declared `any`, names defined elsewhere declared with their types. */
function checkable(code: string): string {
  const body = code.replace(
    /^import\s+\{([^}]*)\}\s+from\s+"([^"]+)";.*$/gm,
    (statement, names: string, from: string) =>
      EXTERNAL.has(from) ? names.split(",").map((name) => `declare const ${name.trim()}: any;`).join("\n") : statement,
  );
  const declarations = Object.entries(DEFINED_ELSEWHERE)
    .filter(([name]) => new RegExp(`\\b${name}\\b`).test(body) && !binds(body, name))
    .map(([name, type]) => `declare const ${name}: ${type};`);
  return `${declarations.join("\n")}\n${body}\nexport {};\n`;
}

/** deno.json with the package's own exports importable by name, as a reader's project imports them. */
async function checkConfig(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const own: Record<string, string> = {};
  for (const [entry, path] of Object.entries(config.exports as Record<string, string>)) {
    own[`${config.name}${entry === "." ? "" : entry.slice(1)}`] = path;
  }
  return JSON.stringify({ ...config, imports: { ...config.imports, ...own } });
}

Deno.test("README.md: every TypeScript snippet type-checks against the code", async () => {
  const found = snippets(await Deno.readTextFile(join(ROOT, "README.md")));
  assert.ok(found.length >= 10, `only ${found.length} snippets found: the README's fences changed?`);
  for (const { code, line } of found) {
    for (const [, from] of code.matchAll(/from\s+"([^"]+)"/g)) {
      const known = from.startsWith("./") || from.startsWith("@smolstep/") || EXTERNAL.has(from) ||
        Object.keys(JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).imports)
          .some((spec) => from === spec || (spec.endsWith("/") && from.startsWith(spec)));
      assert.ok(known, `README.md:${line} imports '${from}', which this repository neither has nor lists in EXTERNAL`);
    }
  }
  // The files sit at the root, where the snippets' `./lib/...` paths point, and are removed afterwards.
  const prefix = `.readme-snippet-${crypto.randomUUID().slice(0, 8)}`;
  const config = join(ROOT, `${prefix}.json`);
  const files = found.map((_, i) => join(ROOT, `${prefix}-${i}.ts`));
  try {
    await Deno.writeTextFile(config, await checkConfig());
    for (const [i, { code, line }] of found.entries()) {
      await Deno.writeTextFile(files[i], `// README.md:${line}\n${checkable(code)}`);
    }
    const checked = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", config, "--no-lock", "--quiet", ...files],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(checked.stderr) + new TextDecoder().decode(checked.stdout);
    assert.ok(checked.success, `README snippets do not type-check (file N is the Nth \`\`\`ts block):\n${output}`);
  } finally {
    for (const file of [config, ...files]) await Deno.remove(file).catch(() => {});
  }
});

Deno.test("README.md: every `deno task` it names exists in the config it names", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const mentions = [...readme.matchAll(/deno(?:@2)? task (?:--config (\S+) )?([a-z][\w:-]*)/g)];
  assert.ok(mentions.length >= 10, `only ${mentions.length} task commands found`);
  for (const [command, config = "deno.json", name] of mentions) {
    const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, config))).tasks ?? {};
    assert.ok(Object.hasOwn(tasks, name), `README.md names \`${command}\`, but ${config} has no task '${name}'`);
  }
});
