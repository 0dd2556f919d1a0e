// Tests ported from smolagents' tests/test_memory.py, each named after its source. Our step records render through
// `stepMessages` / `memoryToMessages` (smolagents' `to_messages` / `write_memory_to_messages`).
import assert from "node:assert/strict";
import { memoryToMessages, stepMessages } from "../../lib/memory/memory_to_messages.ts";
import { parseAgentState } from "../../lib/memory/agent_state.ts";
import type { ActionStep } from "../../lib/memory/step_records.ts";
import { ToolCallingAgent } from "../../lib/agents/tool_calling_agent.ts";

const timing = { startTime: 0, endTime: 1000, durationMs: 1000 };

function actionStep(fields: Partial<ActionStep>): ActionStep {
  return {
    type: "action",
    stepNumber: 1,
    modelOutput: null,
    toolCalls: [],
    observations: null,
    error: null,
    isFinalAnswer: false,
    timing,
    tokenUsage: { inputTokens: 10, outputTokens: 20 },
    ...fields,
  };
}

// smolagents: test_memory.py::test_action_step_to_messages (observation images aside: our steps keep none)
Deno.test("test_action_step_to_messages", () => {
  const messages = stepMessages(
    actionStep({
      modelOutput: "Hi",
      toolCalls: [{ id: "id", name: "get_weather", arguments: { location: "Paris" } }],
      observations: "This is a nice observation",
      actionOutput: "Output",
    }),
    false,
  );
  assert.equal(messages.length, 3);
  assert.deepEqual(messages[0], { role: "assistant", content: "Hi" });
  assert.equal(messages[1].role, "tool-call");
  assert.match(String(messages[1].content), /Calling tools:/);
  assert.equal(messages[2].role, "tool-response");
  assert.match(String(messages[2].content), /Observation:\nThis is a nice observation/);
});

// smolagents: test_memory.py::test_action_step_to_messages_no_tool_calls_with_observations
Deno.test("test_action_step_to_messages_no_tool_calls_with_observations", () => {
  const messages = stepMessages(actionStep({ observations: "This is an observation." }), false);
  assert.equal(messages.length, 1);
  assert.equal(messages[0].role, "tool-response");
  assert.match(String(messages[0].content), /Observation:\nThis is an observation\./);
});

// smolagents: test_memory.py::test_planning_step_to_messages (and summary mode drops it)
Deno.test("test_planning_step_to_messages", () => {
  const planning = {
    type: "planning" as const,
    plan: "This is a plan.",
    modelOutput: "Plan",
    timing,
    tokenUsage: null,
  };
  const messages = stepMessages(planning, false);
  assert.equal(messages.length, 2);
  assert.equal(messages[0].role, "assistant");
  assert.equal(messages[0].content, "This is a plan.");
  assert.equal(messages[1].role, "user");
  assert.deepEqual(stepMessages(planning, true), []);
});

// smolagents: test_memory.py::test_task_step_to_messages
Deno.test("test_task_step_to_messages", () => {
  const messages = stepMessages({ type: "task", task: "This is a task.", images: ["blob:sha256:abc"] }, false);
  assert.equal(messages.length, 1);
  assert.equal(messages[0].role, "user");
  const content = messages[0].content as Array<Record<string, unknown>>;
  assert.equal(content.length, 2);
  assert.equal(content[0].type, "text");
  assert.match(String(content[0].text), /This is a task\./);
  assert.equal(content[1].type, "image");
  assert.equal(content[1].image, "blob:sha256:abc");
});

// smolagents: test_memory.py::test_system_prompt_step_to_messages
Deno.test("test_system_prompt_step_to_messages", () => {
  const messages = memoryToMessages({ steps: [] }, "This is a system prompt.");
  assert.deepEqual(messages, [{ role: "system", content: "This is a system prompt." }]);
  assert.deepEqual(memoryToMessages({ steps: [] }, "This is a system prompt.", { summaryMode: true }), []);
});

// smolagents: test_memory.py::test_memory_step_json_serialization: a run's memory survives JSON as it is.
Deno.test("test_memory_step_json_serialization", async () => {
  const agent = new ToolCallingAgent({
    model: () => ({
      content: "done",
      toolCalls: [{ id: "c", type: "function", function: { name: "final_answer", arguments: { answer: "ok" } } }],
      tokenUsage: { inputTokens: 1, outputTokens: 2 },
    }),
  });
  await agent.run("task");
  const json = JSON.stringify(agent.lastState);
  assert.deepEqual(JSON.parse(JSON.stringify(parseAgentState(JSON.parse(json)))), JSON.parse(json));
});

// smolagents: test_memory.py::TestAgentMemory::test_return_all_code_actions: every code action is on its step.
Deno.test("test_return_all_code_actions", () => {
  const steps = [
    actionStep({ code: "print('Hello')" }),
    actionStep({ code: undefined }),
    actionStep({ code: "print('World')" }),
  ];
  assert.equal(steps.flatMap((step) => step.code ? [step.code] : []).join("\n"), "print('Hello')\nprint('World')");
});
