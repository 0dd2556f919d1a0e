import assert from "node:assert/strict";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { CodeAgent, ManagedAgent, modelFactory, OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import { agentFromHub, MultiStepAgent, pushAgentToHub, Tool } from "../../lib/hub/mod.ts";
import { functionModel } from "../support/function_model.ts";
import { startHubRepoServer } from "../support/hub_repo_server.ts";

const TOKEN = "hf_test_write";
const LOCAL = { allowPrivateNetwork: true };

const DOUBLER = {
  "tool.json": JSON.stringify({
    name: "double",
    description: "Doubles a number.",
    inputs: { n: { type: "number", description: "the number" } },
    outputType: "number",
  }),
  "tool.js": "export default ({ n }) => n * 2;\n",
};

Deno.test("agent.pushToHub / MultiStepAgent.fromHub round trip (loopback Hub), no secrets", async (t) => {
  await using hub = await startHubRepoServer({ token: TOKEN });
  await using executor = createDenoQuickJSExecutor({ timeLimitMs: 20_000 });
  const options = { hubUrl: hub.origin, egress: LOCAL };
  hub.seed("me/double", DOUBLER);
  const double = await Tool.fromHub("me/double", { ...options, trustRemoteCode: true, executor });

  const model = new OpenAIServerModel({
    modelId: "gpt-4o-mini",
    apiKey: "sk-very-secret",
    apiBase: "https://x.example/v1",
  });
  const coder = new CodeAgent({ name: "coder", description: "Writes code.", model, tools: [double], executor });
  const manager = new ToolCallingAgent({
    name: "manager",
    description: "Delegates.",
    model,
    instructions: "Be brief.",
    tools: [double],
    managedAgents: [new ManagedAgent(coder, { provideRunSummary: true })],
  });

  await t.step("push: agent.json is toJSON() (no key, no URL) plus a Space README", async () => {
    const url = await pushAgentToHub(manager, "me/manager", { ...options, token: TOKEN, commitMessage: "agent" });
    assert.match(url, /\/spaces\/me\/manager\/commit\//);
    const files = hub.files("me/manager")!;
    assert.deepEqual(Object.keys(files).sort(), ["README.md", "agent.json"]);
    assert.ok(!files["agent.json"].includes("sk-very-secret") && !files["agent.json"].includes("x.example"));
    assert.deepEqual(JSON.parse(files["agent.json"]), JSON.parse(JSON.stringify(manager)));
    assert.match(files["README.md"], /^---\ntitle: "manager"\n[^]*tags:\n- agent\n- smolstep\n---\n/);
  });

  await t.step("fromHub rebuilds both kinds with the caller's tools, model and executor, and runs", async () => {
    const scripted = functionModel([
      { calls: [["double", { n: 21 }]] },
      { calls: [["final_answer", { answer: "42" }]] },
    ]);
    const seen: string[] = [];
    const rebuilt = await MultiStepAgent.fromHub("me/manager", {
      ...options,
      tools: [double],
      executor,
      model: modelFactory(({ modelId }) => {
        seen.push(modelId ?? "");
        return scripted.model;
      }),
    });
    assert.ok(rebuilt instanceof ToolCallingAgent);
    assert.deepEqual(seen, ["gpt-4o-mini", "gpt-4o-mini"], "the manager's and the coder's model");
    assert.equal(rebuilt.managedAgents.get("coder")!.agent instanceof CodeAgent, true);
    assert.equal(await rebuilt.run("double 21"), "42");
    assert.match(JSON.stringify(scripted.calls[1].messages), /42/);
  });

  await t.step("agentFromHub names a missing tool and a missing file clearly", async () => {
    const { model } = functionModel([]);
    await assert.rejects(agentFromHub("me/manager", { ...options, tools: [], model }), /needs the tool 'double'/);
    await assert.rejects(agentFromHub("me/nothing", { ...options, tools: [], model }), /agent\.json[^]*not found/);
  });
});
