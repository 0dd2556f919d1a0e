import assert from "node:assert/strict";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import {
  type AgentState,
  calculatorTool,
  CodeAgent,
  type Model,
  type ModelObserver,
  ToolCallingAgent,
} from "../../lib/mod.ts";
import { functionModel } from "../support/function_model.ts";

/** Records what agents report, as `model:outcome` and `model:retry <attempt>`. */
function recorder() {
  const events: string[] = [];
  const observer: ModelObserver = {
    modelCallEnded: (modelId, seconds, outcome) => {
      assert.ok(seconds >= 0);
      events.push(`${modelId}:${outcome}`);
    },
    modelRetried: (modelId, info) => void events.push(`${modelId}:retry ${info.attempt}`),
  };
  return { events, observer };
}

/** Steps until the run ends, handing `modelObserver` to every step. */
async function stepToEnd(
  agent: { step(state: AgentState, options: { modelObserver: ModelObserver }): Promise<{ state: AgentState }> },
  state: AgentState,
  observer: ModelObserver,
) {
  while (state.status === "running") state = (await agent.step(state, { modelObserver: observer })).state;
  return state;
}

Deno.test("agents report every model call of a step to the step's modelObserver", async (t) => {
  await t.step("CodeAgent: the planning call and the action call", async () => {
    const { model } = functionModel(["1. Answer.", "<code>\nfinal_answer(4);\n</code>"]);
    Object.defineProperty(model, "name", { value: "coder" });
    const executor = createDenoQuickJSExecutor({ timeLimitMs: 2_000 });
    const agent = new CodeAgent({ model, executor, planningInterval: 5 });
    const { events, observer } = recorder();
    const state = await stepToEnd(agent, agent.start("2+2?"), observer);
    assert.equal(state.status, "succeeded");
    assert.deepEqual(events, ["coder:ok", "coder:ok"]);
  });

  await t.step("ToolCallingAgent: an action call and the answer after max steps", async () => {
    const { model } = functionModel([{ calls: [["calculator", { expression: "1 + 1" }]] }, "It is 2."]);
    Object.defineProperty(model, "name", { value: "caller" });
    const agent = new ToolCallingAgent({ model, tools: [calculatorTool], maxSteps: 1 });
    const { events, observer } = recorder();
    const state = await stepToEnd(agent, agent.start("1+1?"), observer);
    assert.equal(state.status, "max_steps_error");
    assert.deepEqual(events, ["caller:ok", "caller:ok"]);
  });

  await t.step("a managed agent's calls, under its own model id", async () => {
    const helperModel = functionModel([{ calls: [["final_answer", { answer: "3" }]] }]);
    Object.defineProperty(helperModel.model, "name", { value: "helper-model" });
    const helper = new ToolCallingAgent({ name: "helper", description: "Knows 3.", model: helperModel.model });
    const bossModel = functionModel([
      { calls: [["helper", { task: "What do you know?" }]] },
      { calls: [["final_answer", { answer: "3" }]] },
    ]);
    Object.defineProperty(bossModel.model, "name", { value: "boss-model" });
    const boss = new ToolCallingAgent({ name: "boss", model: bossModel.model, managedAgents: [helper] });
    const { events, observer } = recorder();
    await stepToEnd(boss, boss.start("Ask."), observer);
    assert.deepEqual(events, ["boss-model:ok", "helper-model:ok", "boss-model:ok"]);
  });

  await t.step("failures, aborts, and retries a custom model reports through onRetry", async () => {
    const { events, observer } = recorder();
    const failing = new ToolCallingAgent({ model: functionModel([new Error("down")]).model });
    await assert.rejects(failing.step(failing.start("x"), { modelObserver: observer }));
    const aborted = new AbortController();
    const hanging: Model = {
      modelId: "hanging",
      generate: (_messages, options) => {
        aborted.abort();
        return Promise.reject(options?.signal?.reason);
      },
    };
    const stopped = new ToolCallingAgent({ model: hanging });
    await assert.rejects(stopped.step(stopped.start("x"), { modelObserver: observer, signal: aborted.signal }));
    const retrying: Model = {
      modelId: "retrying",
      generate: (_messages, options) => {
        options?.onRetry?.({ attempt: 1, delayMs: 0, error: new Error("429") });
        return Promise.resolve({ role: "assistant", content: "Final answer: 4" });
      },
    };
    const ok = new ToolCallingAgent({ model: retrying });
    await ok.step(ok.start("x"), { modelObserver: observer });
    assert.deepEqual(events, ["model:error", "hanging:aborted", "retrying:retry 1", "retrying:ok"]);
  });

  await t.step("without an observer, the model's options carry no onRetry", async () => {
    const { model, calls } = functionModel([{ calls: [["final_answer", { answer: "4" }]] }]);
    const agent = new ToolCallingAgent({ model });
    await agent.step(agent.start("x"));
    assert.equal("onRetry" in calls[0].options, false);
    assert.equal("observer" in calls[0].options, false);
  });
});
