import assert from "node:assert/strict";
import { type AgentState, parseAgentState, STATE_VERSION, StateVersionError } from "../../lib/mod.ts";
import { agentStateSchemas } from "../../lib/memory/agent_state.ts";
import { memoryToMessages, RETRY_HINT } from "../../lib/memory/memory_to_messages.ts";

function sampleState(): AgentState {
  const timing = { startTime: 1, endTime: 2, durationMs: 1 };
  return {
    version: STATE_VERSION,
    agentName: "assistant",
    task: "What is 2+2?",
    status: "running",
    maxSteps: 5,
    stepNumber: 2,
    additionalArgs: {},
    error: null,
    tokenUsage: { inputTokens: 10, outputTokens: 4 },
    createdAt: 1,
    updatedAt: 2,
    steps: [
      { type: "task", task: "What is 2+2?", images: ["data:image/png;base64,AAAA"] },
      { type: "planning", plan: "1. add\n<end_plan>", modelOutput: "plan", timing, tokenUsage: null },
      {
        type: "action",
        stepNumber: 1,
        modelOutput: "Thought: add",
        toolCalls: [{ id: "c1", name: "calculator", arguments: { expression: "2+2" } }],
        observations: "4",
        error: null,
        isFinalAnswer: false,
        timing,
        tokenUsage: { inputTokens: 5, outputTokens: 2 },
      },
      {
        type: "action",
        stepNumber: 2,
        modelOutput: "oops",
        toolCalls: [],
        observations: null,
        error: { type: "AgentParsingError", message: "No tool call found" },
        isFinalAnswer: false,
        timing,
        tokenUsage: { inputTokens: 5, outputTokens: 2 },
      },
    ],
  };
}

Deno.test("memoryToMessages", async (t) => {
  await t.step("system prompt, task, plan, model output, tool calls, observation, error with retry hint", () => {
    const messages = memoryToMessages(sampleState(), "SYSTEM");
    assert.deepEqual(messages.map((m) => m.role), [
      "system",
      "user",
      "assistant",
      "user",
      "assistant",
      "tool-call",
      "tool-response",
      "assistant",
      "tool-response",
    ]);
    assert.equal(messages[0].content, "SYSTEM");
    assert.deepEqual(messages[1].content, [
      { type: "text", text: "New task:\nWhat is 2+2?" },
      { type: "image", image: "data:image/png;base64,AAAA" },
    ]);
    assert.equal(messages[3].content, "Now go on and carry out this plan.");
    assert.match(
      String(messages[5].content),
      /^Calling tools:\n\[\{"id":"c1","type":"function","function":\{"name":"calculator"/,
    );
    assert.equal(messages[6].content, "Observation:\n4");
    assert.equal(messages[7].content, "oops");
    assert.equal(messages[8].content, `Error:\nNo tool call found\n${RETRY_HINT}`);
    assert.match(RETRY_HINT, /^Now let's retry: take care not to repeat previous errors!/);
  });

  await t.step("summary mode drops the system prompt, plans and model output", () => {
    const messages = memoryToMessages(sampleState(), "SYSTEM", { summaryMode: true });
    assert.deepEqual(messages.map((m) => m.role), ["user", "tool-call", "tool-response", "tool-response"]);
  });
});

Deno.test("AgentState schema", async (t) => {
  await t.step("round-trips through JSON unchanged", () => {
    const state = sampleState();
    const parsed = parseAgentState(JSON.parse(JSON.stringify(state)));
    assert.deepEqual(parsed, state);
    assert.ok(agentStateSchemas().AgentStateSchema.safeParse(parsed).success);
  });

  await t.step("rejects newer versions and malformed states with a path", () => {
    assert.throws(() => parseAgentState({ ...sampleState(), version: STATE_VERSION + 1 }), (error: Error) => {
      assert.ok(error instanceof StateVersionError);
      assert.match(error.message, /newer than this server understands/);
      return true;
    });
    assert.throws(() => parseAgentState({ ...sampleState(), stepNumber: -1 }), /'stepNumber'/);
    assert.throws(
      () => parseAgentState({ ...sampleState(), steps: [{ type: "bogus" }] }),
      /Invalid agent state at 'steps.0/,
    );
    assert.throws(() => parseAgentState(null), StateVersionError);
  });
});

Deno.test("memoryToMessages: each record is rendered once, and again when a step callback edits it in place", async (t) => {
  const { memoryToMessages, stepMessages } = await import("../../lib/memory/memory_to_messages.ts");
  const { ToolCallingAgent } = await import("../../lib/agents/tool_calling_agent.ts");
  const { functionModel } = await import("../support/function_model.ts");
  const action = {
    type: "action" as const,
    stepNumber: 1,
    modelOutput: "Thought: add.",
    toolCalls: [{ id: "c1", name: "calculator", arguments: { expression: "1+1" } }],
    observations: "2",
    error: null,
    isFinalAnswer: false,
    tokenUsage: null,
    timing: { startTime: 0, endTime: 0, durationMs: 0 },
  };

  await t.step("unchanged: the same frozen messages; any assigned field renders again", () => {
    const first = stepMessages(action, false);
    assert.equal(stepMessages(action, false), first, "reused");
    assert.ok(Object.isFrozen(first) && first.every((message) => Object.isFrozen(message)));
    assert.throws(() => ((first[0] as { content: string }).content = "changed"), TypeError);
    action.observations = "3";
    assert.match(String(stepMessages(action, false).at(-1)?.content), /Observation:\n3/);
    action.toolCalls[0].arguments = { expression: "1+2" };
    assert.match(String(stepMessages(action, false)[1].content), /1\+2/);
    assert.notEqual(stepMessages(action, true), stepMessages(action, false), "summary mode is rendered apart");
    assert.equal(memoryToMessages({ steps: [action] }, "system").length, 4);
  });

  await t.step("smolagents' pattern: a callback edits earlier steps; the next prompt shows the edit", async () => {
    const { model, calls } = functionModel([
      { calls: [["calculator", { expression: "1+1" }]] },
      { calls: [["final_answer", { answer: "done" }]] },
    ]);
    const agent = new ToolCallingAgent({
      model,
      stepCallbacks: [(_step, { state }) => {
        for (const step of state.steps) if (step.type === "action") step.observations = "(dropped to save context)";
      }],
    });
    assert.equal(await agent.run("go"), "done");
    const prompt = JSON.stringify(calls[1].messages);
    assert.match(prompt, /dropped to save context/);
    assert.doesNotMatch(prompt, /Observation:\\n2/);
  });
});
