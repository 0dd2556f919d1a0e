import assert from "node:assert/strict";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import {
  type ActionStep,
  type AgentEvent,
  calculatorTool,
  CodeAgent,
  ConfigurationError,
  ManagedAgent,
  OpenAIServerModel,
  parseAgentState,
  ToolCallingAgent,
} from "../../lib/mod.ts";
import { createApp, MemoryStore } from "../../lib/server.ts";
import { functionModel } from "../support/function_model.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../support/scripted_model_server.ts";

const executor = createDenoQuickJSExecutor({ timeLimitMs: 2_000 });

/**
 * One scripted model server serves both agents: a request whose system prompt is the CodeAgent's gets code, the
 * manager's gets tool calls. Each agent's script advances with its own counter.
 */
function teamScript() {
  let manager = 0;
  let coder = 0;
  return (request: ReceivedRequest) => {
    const system = String(request.body.messages?.[0]?.content ?? "");
    if (system.includes("writing JavaScript code")) {
      coder++;
      return coder === 1
        ? "Thought: compute.\n<code>\nconst area = await calculator({ expression: '12 * 7' });\nconsole.log(area);\n</code>"
        : "Thought: done.\n<code>\nfinal_answer(`The area is ${area} m2`);\n</code>";
    }
    manager++;
    return manager === 1
      ? { toolCalls: [{ name: "geometer", arguments: { task: "Compute the area of a 12 m by 7 m room." } }] }
      : { toolCalls: [{ name: "final_answer", arguments: { answer: "84 m2, per the geometer" } }] };
  };
}

function team(apiBase: string) {
  const model = new OpenAIServerModel({ modelId: "m", apiBase, apiKey: "k", maxRetries: 0 });
  const geometer = new CodeAgent({
    name: "geometer",
    description: "Does geometry by writing code.",
    model,
    tools: [calculatorTool],
    executor,
  });
  return new ToolCallingAgent({
    name: "manager",
    model,
    managedAgents: [new ManagedAgent(geometer, { provideRunSummary: true })],
  });
}

Deno.test("manager (ToolCallingAgent) -> managed CodeAgent over HTTP, one step per invocation", async (t) => {
  const server = await startScriptedModelServer();
  const app = createApp({
    agents: { manager: team(server.url) },
    store: new MemoryStore(),
    secret: "managed-secret-0123456789",
  });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${http.addr.port}`;
  const api = {
    request: (path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body ?? {}),
      }),
  };

  for (const mode of ["kv", "stateless"] as const) {
    await t.step(`${mode} mode: exactly 4 invocations`, async () => {
      server.reset();
      server.setHandler(teamScript());
      const created = await (await api.request("/v1/agents/manager/runs", {
        task: "How big is the room?",
        ...(mode === "stateless" ? { stateless: true } : {}),
      })).json();
      let token = created.state;
      const invocations: Array<{ status: string; agent: string; type: string }> = [];
      let last: Record<string, unknown> = {};
      while (invocations.length < 10) {
        const response = mode === "kv"
          ? await api.request(`/v1/runs/${created.runId}/steps`)
          : await api.request("/v1/agents/manager/steps", { state: token });
        last = await response.json();
        assert.equal(response.status, 200, JSON.stringify(last));
        token = last.state;
        invocations.push({
          status: last.status as string,
          agent: last.stepAgent as string,
          type: (last.step as { type: string }).type,
        });
        if (last.status !== "running") break;
      }
      // 1: the manager calls the geometer (sub-run starts); 2-3: the geometer's two code steps, the second of
      // which ends it and completes the manager's step with the report; 4: the manager's final answer.
      assert.deepEqual(invocations, [
        { status: "running", agent: "manager", type: "action" },
        { status: "running", agent: "manager/geometer", type: "action" },
        { status: "running", agent: "manager/geometer", type: "action" },
        { status: "succeeded", agent: "manager", type: "action" },
      ]);
      assert.equal(last.finalAnswer, "84 m2, per the geometer");
      assert.equal(server.requests.length, 4, "one model call per invocation");
      // The manager saw the report, with the run summary, as the observation of its call.
      const seen = JSON.stringify(server.requests[3].body.messages);
      assert.match(seen, /Here is the final answer from your managed agent 'geometer':\\nThe area is 84 m2/);
      assert.match(seen, /summary of its work/);
    });
  }
  await http.shutdown();
  await server.close();
});

Deno.test("managed agents nest two levels deep; events say which agent took each step", async () => {
  const leafModel = functionModel([{ calls: [["final_answer", { answer: "leaf says 3" }]] }]);
  const leaf = new ToolCallingAgent({ name: "leaf", description: "Knows 3.", model: leafModel.model });
  const middleModel = functionModel([
    { calls: [["leaf", { task: "What do you know?" }]] },
    { calls: [["final_answer", { answer: "middle heard: leaf says 3" }]] },
  ]);
  const middle = new ToolCallingAgent({
    name: "middle",
    description: "Asks the leaf.",
    model: middleModel.model,
    managedAgents: [leaf],
  });
  const topModel = functionModel([
    { calls: [["middle", { task: "Ask around." }], ["calculator", { expression: "1 + 1" }]] },
    { calls: [["final_answer", { answer: "done" }]] },
  ]);
  const top = new ToolCallingAgent({
    name: "top",
    model: topModel.model,
    tools: [calculatorTool],
    managedAgents: [middle],
  });
  const events: AgentEvent[] = [];
  let state = top.start("Find out.");
  const agents: string[] = [];
  while (state.status === "running") {
    const result = await top.step(state);
    agents.push(result.agent);
    events.push(...result.events);
    state = parseAgentState(JSON.parse(JSON.stringify(result.state))); // survives serialization between steps
  }
  assert.deepEqual(agents, ["top", "top/middle", "top/middle/leaf", "top/middle", "top"]);
  assert.equal(state.finalAnswer, "done");
  const call = state.steps.find((s) => s.type === "action") as ActionStep;
  assert.match(
    call.observations!,
    /^2\n\nHere is the final answer from your managed agent 'middle':\nmiddle heard: leaf says 3$/,
  );
  assert.deepEqual(
    events.filter((e) => e.type === "final_answer").map((e) => e.agent),
    ["leaf", "middle", "top"],
  );
  assert.equal(state.subRun, undefined);
});

Deno.test("a CodeAgent manager: the call ends the code step; the answer arrives as observation and variable", async () => {
  const helperModel = functionModel([{ calls: [["final_answer", { answer: 41 }]] }]);
  const helper = new ToolCallingAgent({ name: "helper", description: "Knows 41.", model: helperModel.model });
  const { model, calls } = functionModel([
    "<code>\nconsole.log('asking');\nconst r = await helper({ task: 'Your number?' });\nconsole.log('never');\n</code>",
    "<code>\nfinal_answer(helper_answer + 1);\n</code>",
  ]);
  const boss = new CodeAgent({ name: "boss", model, executor, managedAgents: [helper] });
  const result = await boss.run("Add one to the helper's number.", { returnFullResult: true });
  assert.equal(result.output, 42);
  const first = result.steps.find((s) => s.type === "action") as ActionStep;
  assert.equal(first.error, null);
  assert.match(
    first.observations!,
    /^Execution logs:\nasking\n\n\nHere is the final answer from your managed agent 'helper':\n41$/,
  );
  assert.match(String(calls[0].messages[0].content), /declare function helper\(args: \{ task: string/);
});

Deno.test("planning steps: cadence for intervals 1, 2 and 3", async (t) => {
  for (
    const [interval, expected] of [
      [1, "P A P A P A P A"],
      [2, "P A A P A A P A"],
      [3, "P A A A P A"],
    ] as const
  ) {
    await t.step(`planningInterval ${interval}`, async () => {
      const actionsNeeded = expected.split(" ").filter((x) => x === "A").length;
      const seen: string[] = [];
      let actions = 0;
      const agent = new ToolCallingAgent({
        model: (_messages, options) => {
          if (options.stopSequences?.includes("<end_plan>")) {
            seen.push("P");
            return "## 1. Facts survey\n...\n## 2. Plan\n1. Count.\n<end_plan>";
          }
          seen.push("A");
          actions++;
          const done = actions === actionsNeeded;
          const call = done
            ? { name: "final_answer", arguments: { answer: "ok" } }
            : { name: "calculator", arguments: { expression: "1" } };
          return { content: null, toolCalls: [{ id: `c${actions}`, type: "function" as const, function: call }] };
        },
        tools: [calculatorTool],
        planningInterval: interval,
      });
      const result = await agent.run("count", { returnFullResult: true });
      assert.equal(result.output, "ok");
      assert.equal(seen.join(" "), expected);
      const plans = result.steps.filter((s) => s.type === "planning");
      assert.deepEqual(
        plans.map((p) => p.stepNumber),
        expected.split(" ").flatMap((x, i, all) =>
          x === "P" ? [all.slice(0, i).filter((y) => y === "A").length + 1] : []
        ),
      );
      assert.equal(plans[0].type === "planning" && plans[0].plan, "## 1. Facts survey\n...\n## 2. Plan\n1. Count.");
    });
  }

  await t.step("the update prompt says how many steps remain; plans are in the next action's messages", async () => {
    const { model, calls } = functionModel([
      "plan A\n<end_plan>",
      { calls: [["calculator", { expression: "1" }]] },
      "plan B\n<end_plan>",
      { calls: [["final_answer", { answer: "x" }]] },
    ]);
    const agent = new ToolCallingAgent({ model, tools: [calculatorTool], planningInterval: 1, maxSteps: 5 });
    await agent.run("go");
    assert.match(String(calls[0].messages[0].content), /Facts survey[^]*<end_plan>/);
    // smolagents: maxSteps minus the number of the action step about to run (step 2 of 5).
    assert.match(String(calls[2].messages.at(-1)?.content), /3 steps remain/);
    assert.equal(calls[2].messages[0].role, "system");
    assert.match(String(calls[2].messages[0].content), /Task:\ngo/);
    assert.match(JSON.stringify(calls[3].messages), /plan B[^]*Now go on and carry out this plan/);
  });
});

Deno.test("managed agent names must be unique across tools, managed agents and the agent", () => {
  const sub = new ToolCallingAgent({ name: "calculator", model: () => "" });
  assert.throws(
    () => new ToolCallingAgent({ model: () => "", tools: [calculatorTool], managedAgents: [sub] }),
    ConfigurationError,
  );
  const twin = new ToolCallingAgent({ name: "twin", model: () => "" });
  assert.throws(() => new ToolCallingAgent({ model: () => "", managedAgents: [twin, twin] }), /already taken/);
  assert.throws(() => new ToolCallingAgent({ name: "twin", model: () => "", managedAgents: [twin] }), /already taken/);
});

// smolagents' tests/test_agents.py `test_multiagents`: the manager calls its managed agent with the task as a plain
// string (`search_agent` with "Who is the current US president?").
Deno.test("a managed agent called with a plain task string runs that task", async () => {
  const helperModel = functionModel([{ calls: [["final_answer", { answer: "found it" }]] }]);
  const helper = new ToolCallingAgent({ name: "helper", description: "Finds things.", model: helperModel.model });
  const bossModel = functionModel([
    { calls: [["helper", "Find the thing."]] },
    { calls: [["final_answer", { answer: "the helper found it" }]] },
  ]);
  const boss = new ToolCallingAgent({ name: "boss", model: bossModel.model, managedAgents: [helper], maxSteps: 4 });
  const result = await boss.run("Find the thing via the helper.", { returnFullResult: true });
  assert.equal(result.output, "the helper found it");
  assert.match(String(helperModel.calls[0].messages[1].content), /Find the thing\./);
});

// smolagents' CodeAgent prompt (prompts/code_agent.yaml) shows each team member as
// `def name(task: str, additional_args: dict[str, Any]) -> str`, so code calls it with positional arguments.
Deno.test("CodeAgent: a managed agent called as def name(task, additional_args) maps its positional arguments", async (t) => {
  const boss = (code: string) => {
    const helperModel = functionModel([{ calls: [["final_answer", { answer: "done" }]] }]);
    const helper = new ToolCallingAgent({ name: "helper", description: "Does things.", model: helperModel.model });
    const { model } = functionModel([`<code>\n${code}\n</code>`, "<code>\nfinal_answer(helper_answer);\n</code>"]);
    return { agent: new CodeAgent({ name: "boss", model, executor, managedAgents: [helper] }), helperModel };
  };

  await t.step("helper(task, additional_args): the task, and the values as the helper's variables", async () => {
    const { agent, helperModel } = boss('await helper("Sum the numbers.", { numbers: [1, 2] });');
    const result = await agent.run("Delegate.", { returnFullResult: true });
    assert.equal((result.steps.find((s) => s.type === "action") as ActionStep).error, null);
    assert.match(String(result.output), /done/);
    const task = String(helperModel.calls[0].messages[1].content);
    assert.match(task, /Sum the numbers\./);
    assert.match(task, /numbers/);
  });

  await t.step("helper(task) alone, and a third positional argument is refused", async () => {
    const { agent, helperModel } = boss('await helper("Only the task.");');
    await agent.run("Delegate.");
    assert.match(String(helperModel.calls[0].messages[1].content), /Only the task\./);
    const extra = boss('await helper("t", {}, "extra");');
    const result = await extra.agent.run("Delegate.", { returnFullResult: true });
    const first = result.steps.find((s) => s.type === "action") as ActionStep;
    assert.match(first.error!.message, /takes 2 inputs \(task, additional_args\), got 3 positional arguments/);
    assert.equal(extra.helperModel.calls.length, 0);
  });
});
