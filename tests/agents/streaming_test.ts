import assert from "node:assert/strict";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { CodeAgent, type MultiStepAgent, OpenAIServerModel, ToolCallingAgent } from "../../lib/mod.ts";
import type { AgentEvent, DeltaEvent } from "../../lib/agents/agent_events.ts";
import type { AgentState } from "../../lib/memory/agent_state.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import {
  type ScriptedModelServer,
  type ScriptedReply,
  startScriptedModelServer,
  toolCallReply,
} from "../support/scripted_model_server.ts";

const TOOL_SCRIPT: ScriptedReply[] = [
  { content: "I will compute it.", toolCalls: [{ name: "calculator", arguments: { expression: "6 * 7" } }] },
  toolCallReply("final_answer", { answer: "42" }),
];
const CODE_SCRIPT: ScriptedReply[] = [
  "Thought: compute it.\n<code>\nconst x = 6 * 7;\nconsole.log(x);\n</code>",
  "Thought: answer.\n<code>\nfinal_answer(String(6 * 7));\n</code>",
];

/** Runs `task` with `stream: true` from a fresh script; the events and the final state. */
async function streamed(server: ScriptedModelServer, agent: MultiStepAgent, script: ScriptedReply[]) {
  server.reset();
  server.enqueue(...script);
  const events: AgentEvent[] = [];
  const run = agent.run("What is 6 times 7?", { stream: true, now: () => 1_000 });
  let next = await run.next();
  while (!next.done) {
    events.push(next.value);
    next = await run.next();
  }
  return { events, state: next.value };
}

/** Runs `task` without streaming from a fresh script; the final state. */
async function plain(server: ScriptedModelServer, agent: MultiStepAgent, script: ScriptedReply[]) {
  server.reset();
  server.enqueue(...script);
  await agent.run("What is 6 times 7?", { now: () => 1_000 });
  return agent.lastState!;
}

/** The state without what differs between two runs of the same script (the run's id). */
function comparable(state: AgentState): unknown {
  const { runId: _id, ...rest } = state as AgentState & { runId?: string };
  return rest;
}

function deltasOf(events: AgentEvent[], stepNumber: number): DeltaEvent[] {
  return events.filter((e): e is DeltaEvent => e.type === "delta" && e.stepNumber === stepNumber);
}

Deno.test("streaming: run({stream: true}) yields model deltas; the steps are those of a run without streaming", async (t) => {
  await using server = await startScriptedModelServer();
  const model = new OpenAIServerModel({ modelId: "m", apiBase: server.url, apiKey: "k", maxRetries: 0 });

  await t.step(
    "ToolCallingAgent: text and tool-call deltas, before their step, assembling the step's reply",
    async () => {
      const agent = new ToolCallingAgent({ model, tools: [calculatorTool] });
      const { events, state } = await streamed(server, agent, TOOL_SCRIPT);
      assert.equal(server.lastRequest?.body.stream, true);
      assert.equal(state.status, "succeeded");
      const first = deltasOf(events, 1);
      assert.ok(first.length > 2, "several deltas for step 1");
      assert.ok(first.every((e) => e.agent === agent.name));
      const stepIndex = events.findIndex((e) => e.type === "step");
      assert.ok(events.indexOf(first.at(-1)!) < stepIndex, "deltas come before their step event");
      const record = state.steps.find((s) => s.type === "action" && s.stepNumber === 1)!;
      assert.equal(record.type, "action");
      assert.equal(first.map((e) => e.text ?? "").join(""), record.type === "action" ? record.modelOutput : "");
      const calls = first.filter((e) => e.toolCall);
      assert.equal(calls[0].toolCall!.name, "calculator");
      assert.ok(calls[0].toolCall!.id);
      assert.deepEqual(JSON.parse(calls.map((e) => e.toolCall!.arguments ?? "").join("")), { expression: "6 * 7" });
      assert.ok(deltasOf(events, 2).some((e) => e.toolCall?.name === "final_answer"));

      const without = await plain(server, agent, TOOL_SCRIPT);
      assert.equal(server.lastRequest?.body.stream, undefined);
      assert.deepEqual(comparable(state), comparable(without));
    },
  );

  await t.step("CodeAgent: text deltas concatenate to the model output; same state as without streaming", async () => {
    const agent = new CodeAgent({ model, executor: createDenoQuickJSExecutor() });
    const { events, state } = await streamed(server, agent, CODE_SCRIPT);
    assert.equal(state.status, "succeeded");
    assert.equal(state.finalAnswer, "42");
    for (const record of state.steps) {
      if (record.type !== "action") continue;
      const text = deltasOf(events, record.stepNumber).map((e) => e.text ?? "").join("");
      // The closing tag is cut by the stop sequence and restored by the agent, as without streaming.
      assert.ok(text.length > 0);
      assert.ok(record.modelOutput?.startsWith(text), `${record.modelOutput} starts with ${text}`);
    }
    const without = await plain(server, agent, CODE_SCRIPT);
    assert.deepEqual(comparable(state), comparable(without));
  });

  await t.step("a managed agent's deltas name it by its path from the manager", async () => {
    const helper = new ToolCallingAgent({ name: "helper", description: "Knows things.", model });
    const manager = new ToolCallingAgent({ name: "manager", model, managedAgents: [helper] });
    const { events, state } = await streamed(server, manager, [
      { content: "Asking.", toolCalls: [{ name: "helper", arguments: { task: "Your number?" } }] },
      { content: "Mine is 7.", toolCalls: [{ name: "final_answer", arguments: { answer: "7" } }] },
      toolCallReply("final_answer", { answer: "7" }),
    ]);
    assert.equal(state.status, "succeeded");
    const by = (agent: string) =>
      events.flatMap((e) => e.type === "delta" && e.agent === agent && e.text ? [e.text] : []).join("");
    assert.equal(by("manager"), "Asking.");
    assert.equal(by("manager/helper"), "Mine is 7.");
  });

  await t.step("a planning step streams its plan too", async () => {
    const agent = new ToolCallingAgent({ model, planningInterval: 5 });
    const { events, state } = await streamed(server, agent, [
      "1. Answer 42.\n<end_plan>",
      toolCallReply("final_answer", { answer: "42" }),
    ]);
    const planning = state.steps.find((s) => s.type === "planning")!;
    const before = events.slice(0, events.findIndex((e) => e.type === "step"));
    assert.ok(before.length > 0 && before.every((e) => e.type === "delta"));
    const text = before.map((e) => e.type === "delta" ? e.text ?? "" : "").join("");
    assert.equal(planning.type, "planning");
    assert.match(text, /Answer 42/);
  });

  await t.step("a model without generateStream: no deltas, the same run", async () => {
    const agent = new ToolCallingAgent({
      model: () => ({
        content: null,
        toolCalls: [{ id: "c", type: "function", function: { name: "final_answer", arguments: { answer: 1 } } }],
      }),
    });
    const events = [];
    for await (const event of agent.run("x", { stream: true })) events.push(event);
    assert.deepEqual(events.map((e) => e.type), ["step", "final_answer"]);
  });

  await t.step("run() without stream and step() without onDelta call generate, not generateStream", async () => {
    const agent = new ToolCallingAgent({ model, tools: [calculatorTool] });
    server.reset();
    server.enqueue(...TOOL_SCRIPT);
    assert.equal(await agent.run("What is 6 times 7?"), "42");
    assert.ok(server.requests.every((r) => r.body.stream === undefined));
  });

  await t.step("step({onDelta}) streams one step; a model failure sends no step and throws", async () => {
    const agent = new ToolCallingAgent({ model, tools: [calculatorTool] });
    server.reset();
    server.enqueue({ status: 500, error: "boom" });
    const seen: DeltaEvent[] = [];
    await assert.rejects(agent.step(agent.start("x"), { onDelta: (e) => seen.push(e) }), /boom|500/);
    assert.deepEqual(seen, []);
  });
});
