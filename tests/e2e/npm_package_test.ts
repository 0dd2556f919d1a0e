/**
 * The npm package as a user gets it: `deno task build:npm`'s output, packed with `npm pack`, installed with
 * `npm install` into a scratch project outside the repository, then a ToolCallingAgent run against the scripted
 * model server (`@smolstep/smolstep/testing`) on Node, the same run on Deno from that project, and a TypeScript
 * consumer type-checked against the package's `.d.ts`.
 */
import assert from "node:assert/strict";
import { buildNpm, TARGET, TYPESCRIPT } from "../../scripts/build_npm.ts";
import { startHubRepoServer } from "../support/hub_repo_server.ts";

/** A user's script: a two-step tool-calling run through the installed package. */
const SMOKE = `
import { calculatorTool, OpenAIServerModel, ToolCallingAgent, VERSION, VisitWebpageTool } from "@smolstep/smolstep";
import { startScriptedModelServer, toolCallReply } from "@smolstep/smolstep/testing";
import { createSmolstep, MemoryStore } from "@smolstep/smolstep/server";

const server = await startScriptedModelServer({
  replies: [
    toolCallReply("calculator", { expression: "6 * 7" }),
    toolCallReply("final_answer", { answer: "6 times 7 is 42" }),
  ],
});
try {
  const model = new OpenAIServerModel({ modelId: "scripted-model", apiBase: server.url, apiKey: "test" });
  const agent = new ToolCallingAgent({ tools: [calculatorTool], model, maxSteps: 4 });
  const result = await agent.run("What is 6 times 7?", { returnFullResult: true });
  const observations = result.steps.filter((s) => s.type === "action").map((s) => s.observations);
  // visit_webpage loads its HTML-to-Markdown converter (html-to-md) on first use; the page comes from a stub transport.
  const visit = new VisitWebpageTool({ fetch: async () => new Response("<h1>Hi &amp; bye</h1><p>x &mdash; y</p>") });
  const page = await visit.call({ url: "https://example.com/" });
  // The server entry: the HTTP API over the same agent, answering its health check.
  const { app } = createSmolstep({ agents: { calc: agent }, store: new MemoryStore() });
  const health = await (await app.fetch(new Request("http://localhost/health"))).json();
  const entries = {};
  for (const entry of ["server", "client", "deno", "cloudflare", "transformers", "testing"]) {
    entries[entry] = Object.keys(await import("@smolstep/smolstep/" + entry)).length;
  }
  console.log(JSON.stringify({ version: VERSION, output: result.output, state: result.state, observations, entries, page,
    requests: server.requests.length, health }));
} finally {
  await server.close();
}
`;

/** The hub entry on Node: save a tool, push it to the test's loopback Hub, load it back into the sandbox, call it. */
const HUB_SMOKE = `
import { Tool } from "@smolstep/smolstep/hub";
import { createDenoQuickJSExecutor } from "@smolstep/smolstep/deno";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

class Shout extends Tool {
  name = "shout";
  description = "Upper-cases a text.";
  inputs = { text: { type: "string", description: "the text" } };
  outputType = "string";
  forward({ text }) {
    return text.toUpperCase() + "!";
  }
}
const dir = join(await mkdtemp(join(tmpdir(), "smolstep-hub-")), "shout");
await new Shout().save(dir);
const files = (await readdir(dir)).sort();
const options = { hubUrl: process.env.HUB_URL, egress: { allowPrivateNetwork: true } };
await new Shout().pushToHub("me/shout", { ...options, token: "hf_test_write" });
const executor = createDenoQuickJSExecutor({ inThread: true });
const loaded = await Tool.fromHub("me/shout", { ...options, trustRemoteCode: true, executor });
console.log(JSON.stringify({ files, result: await loaded.call({ text: "hi" }) }));
`;

/** A TypeScript user's code, type-checked against the installed `.d.ts` (and wrong on purpose in one line). */
const TYPED = `
import { type AgentState, calculatorTool, OpenAIServerModel, ToolCallingAgent } from "@smolstep/smolstep";
import { createClient, type SmolstepClient } from "@smolstep/smolstep/client";
import { startScriptedModelServer, type ScriptedModelServer } from "@smolstep/smolstep/testing";
import { createSmolstep, MemoryStore, type Smolstep } from "@smolstep/smolstep/server";

export async function check(): Promise<string> {
  const server: ScriptedModelServer = await startScriptedModelServer({ replies: ["hi"] });
  const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k" });
  const agent = new ToolCallingAgent({ tools: [calculatorTool], model });
  const state: AgentState = agent.start("task");
  const client: SmolstepClient = createClient({ baseUrl: "http://localhost" });
  void client;
  const smolstep: Smolstep = createSmolstep({ agents: { calc: agent }, store: new MemoryStore() });
  void smolstep;
  return state.status;
}
// @ts-expect-error maxSteps is a number: the .d.ts must say so (an 'any' would make this line an error).
new ToolCallingAgent({ tools: [], model: (() => "") as never, maxSteps: "four" });
`;

async function run(cmd: string, args: string[], cwd: string, env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped" }).output();
  const [stdout, stderr] = [new TextDecoder().decode(out.stdout), new TextDecoder().decode(out.stderr)];
  assert.ok(out.success, `${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${stdout}\n${stderr}`);
  return stdout;
}

Deno.test({
  name: "npm package: built, packed, installed into a scratch project, run on Node and Deno",
  // npm install reads the registry (or its cache) for the dependencies.
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const scratch = await Deno.makeTempDir({ prefix: "smolstep-npm-" });
  try {
    const pkgDir = await buildNpm(`${scratch}/package`);
    const pkg = JSON.parse(await Deno.readTextFile(`${pkgDir}package.json`));

    await t.step("package.json: exports mirror deno.json, npm: imports become versioned dependencies", async () => {
      const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
      assert.deepEqual(Object.keys(pkg.exports), Object.keys(denoJson.exports));
      for (const target of Object.values(pkg.exports) as { types: string; default: string }[]) {
        await Deno.stat(`${pkgDir}${target.default}`);
        await Deno.stat(`${pkgDir}${target.types}`);
      }
      assert.equal(pkg.dependencies.zod, denoJson.imports.zod.replace("npm:zod@", ""));
      assert.ok(pkg.dependencies.hono);
      // Heavy backends are optional peers; tooling and test-only packages are not dependencies at all (the model
      // backends speak the OpenAI API with fetch: the `openai` client is only a client in tests and benches).
      assert.deepEqual(Object.keys(pkg.peerDependencies).sort(), [
        "@huggingface/hub",
        "@huggingface/inference",
        "@huggingface/transformers",
        "@modelcontextprotocol/sdk",
      ]);
      for (const name of ["wrangler", "playwright-core", "fast-check", "@opentelemetry/sdk-metrics", "openai"]) {
        assert.ok(!(name in pkg.dependencies), `${name} should not be a dependency`);
      }
      const js = await Deno.readTextFile(`${pkgDir}esm/mod.js`);
      assert.match(js, /from "\.\/agents\/tool_calling_agent\.js"/, "relative imports end in .js");
    });

    const project = `${scratch}/project`;
    await Deno.mkdir(project);
    await Deno.writeTextFile(
      `${project}/package.json`,
      JSON.stringify({ name: "scratch", private: true, type: "module" }),
    );

    await t.step("npm pack and npm install into a scratch project", async () => {
      const tarball = (await run("npm", ["pack", "--silent", "--pack-destination", scratch], pkgDir)).trim();
      assert.match(tarball, /^smolstep-smolstep-.*\.tgz$/);
      await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `${scratch}/${tarball}`], project);
      const installed = JSON.parse(await Deno.readTextFile(`${project}/node_modules/@smolstep/smolstep/package.json`));
      assert.equal(installed.version, pkg.version);
      await assert.rejects(Deno.stat(`${project}/node_modules/@huggingface/transformers`), Deno.errors.NotFound);
    });

    const check = (stdout: string) => {
      const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assert.equal(result.output, "6 times 7 is 42");
      assert.deepEqual(result.observations.slice(0, 1), ["42"]);
      assert.equal(result.requests, 2);
      assert.equal(result.page, "# Hi & bye\n\nx — y");
      assert.equal(result.health.agents, 1, JSON.stringify(result.health));
      for (const [entry, count] of Object.entries(result.entries)) assert.ok((count as number) > 0, entry);
    };

    await t.step("Node runs a ToolCallingAgent against the scripted server through the package", async () => {
      await Deno.writeTextFile(`${project}/smoke.mjs`, SMOKE);
      check(await run("node", ["smoke.mjs"], project));
    });

    await t.step("Deno runs the same script from outside the repository (package.json + node_modules)", async () => {
      await Deno.writeTextFile(`${project}/smoke_deno.js`, SMOKE);
      check(
        await run(Deno.execPath(), ["run", "-A", "--no-config", "--node-modules-dir=manual", "smoke_deno.js"], project),
      );
    });

    await t.step("Node: the ./hub entry (its optional peer installed) saves, pushes and loads a tool", async () => {
      const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
      const hubClient = denoJson.imports["@huggingface/hub"].replace("npm:", "");
      await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", hubClient], project);
      await Deno.writeTextFile(`${project}/hub_smoke.mjs`, HUB_SMOKE);
      await using hub = await startHubRepoServer({ token: "hf_test_write" });
      const stdout = await run("node", ["hub_smoke.mjs"], project, { ...Deno.env.toObject(), HUB_URL: hub.origin });
      assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), {
        files: ["README.md", "tool.js", "tool.json"],
        result: "HI!",
      });
      assert.deepEqual(Object.keys(hub.files("me/shout")!).sort(), ["README.md", "tool.js", "tool.json"]);
    });

    await t.step("a TypeScript consumer type-checks against the .d.ts", async () => {
      await Deno.writeTextFile(`${project}/typed.ts`, TYPED);
      const tsconfig = {
        compilerOptions: {
          ...TARGET,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        files: ["typed.ts"],
      };
      await Deno.writeTextFile(`${project}/tsconfig.json`, JSON.stringify(tsconfig));
      await run(
        Deno.execPath(),
        ["run", "-A", "--no-config", `${TYPESCRIPT}/tsc`, "-p", "tsconfig.json"],
        project,
      );
    });
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});
