import assert from "node:assert/strict";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import {
  agentFromJSON,
  calculatorTool,
  CodeAgent,
  ConfigurationError,
  ManagedAgent,
  modelFactory,
  MultiStepAgent,
  OpenAIServerModel,
  ToolCallingAgent,
} from "../../lib/mod.ts";
import { functionModel } from "../support/function_model.ts";

Deno.test("toJSON / fromJSON round-trip agent definitions, never secrets", () => {
  const model = new OpenAIServerModel({
    modelId: "gpt-4o-mini",
    apiKey: "sk-very-secret",
    apiBase: "https://x.example/v1",
  });
  const executor = createDenoQuickJSExecutor();
  const coder = new CodeAgent({
    name: "coder",
    description: "Writes code.",
    model,
    tools: [calculatorTool],
    executor,
    authorizedImports: ["math"],
    maxSteps: 7,
  });
  const manager = new ToolCallingAgent({
    name: "manager",
    model,
    instructions: "Be brief.",
    planningInterval: 3,
    maxContextTokens: 8000,
    managedAgents: [new ManagedAgent(coder, { provideRunSummary: true, additionalPrompting: "Show your work." })],
  });
  const json = JSON.stringify(manager);
  assert.ok(!json.includes("sk-very-secret") && !json.includes("x.example"), "no key, no URL");
  const definition = JSON.parse(json);
  assert.deepEqual(definition.model, { class: "OpenAIServerModel", modelId: "gpt-4o-mini" });
  assert.equal(definition.managedAgents[0].agent.kind, "CodeAgent");
  assert.deepEqual(definition.managedAgents[0].agent.authorizedImports, ["math"]);

  const seen: string[] = [];
  const rebuilt = MultiStepAgent.fromJSON(definition, {
    kinds: { ToolCallingAgent, CodeAgent },
    tools: [calculatorTool],
    executor,
    model: modelFactory(({ modelId }) => {
      seen.push(modelId ?? "");
      return () => "stub";
    }),
  });
  assert.ok(rebuilt instanceof ToolCallingAgent);
  // The same definition, except that every model is now the stub function the factory returned.
  const stubbed = JSON.parse(
    json.replaceAll('{"class":"OpenAIServerModel","modelId":"gpt-4o-mini"}', '{"class":"function","modelId":"custom"}'),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(rebuilt)), stubbed);
  assert.deepEqual(seen, ["gpt-4o-mini", "gpt-4o-mini"]);
  const child = rebuilt.managedAgents.get("coder")!;
  assert.ok(child.agent instanceof CodeAgent);
  assert.equal(child.provideRunSummary, true);

  assert.throws(
    () => agentFromJSON(definition, { tools: [], executor, model: () => "" }),
    /needs the tool 'calculator'/,
  );
  assert.throws(
    () => agentFromJSON({ ...definition, kind: "Mystery" }, { tools: [calculatorTool], model: () => "" }),
    ConfigurationError,
  );
  assert.throws(
    () => agentFromJSON(definition.managedAgents[0].agent, { tools: [calculatorTool], model: () => "" }),
    /needs `executor`/,
  );
  // Kinds are only what the caller passes: nothing is registered by importing a module.
  assert.throws(
    () =>
      MultiStepAgent.fromJSON(definition, {
        kinds: { ToolCallingAgent },
        tools: [calculatorTool],
        executor,
        model: () => "",
      }),
    /Unknown agent kind 'CodeAgent'/,
  );
});

Deno.test("replay() prints a readable run log", async () => {
  const { model } = functionModel([
    { content: "Thought: compute.", calls: [["calculator", { expression: "6*7" }]], usage: [10, 2] },
    { calls: [["final_answer", { answer: "42" }]], usage: [12, 3] },
  ]);
  const agent = new ToolCallingAgent({ name: "calc", model, tools: [calculatorTool] });
  await agent.run("What is 6*7?");
  const printed: string[] = [];
  const text = agent.replay(undefined, (line) => printed.push(line));
  assert.deepEqual(printed, [text]);
  assert.match(text, /^Run of 'calc': succeeded, 2\/20 steps, 22 in \/ 5 out tokens/);
  assert.match(text, /== Task\nWhat is 6\*7\?/);
  assert.match(
    text,
    /== Step 1 \([\d.]+ s, 10 in \/ 2 out\)\nThought: compute\.\n-> calculator\(\{"expression":"6\*7"\}\)\n<- 42/,
  );
  assert.match(text, /== Final answer\n42$/);
  assert.throws(() => new ToolCallingAgent({ model }).replay(), /Nothing to replay/);
});
