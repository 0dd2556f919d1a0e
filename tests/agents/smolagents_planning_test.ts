// Planning steps as smolagents builds them: tests ported from smolagents' tests/test_agents.py, each named after
// its source test.
import assert from "node:assert/strict";
import { ToolCallingAgent } from "../../lib/agents/tool_calling_agent.ts";
import { planningMessages } from "../../lib/agents/planning_step.ts";
import { fillPrompt } from "../../lib/agents/prompts/tool_calling_prompt.ts";
import {
  INITIAL_PLAN_PROMPT,
  UPDATE_PLAN_PRE_PROMPT,
  UPDATE_PLAN_PROMPT,
} from "../../lib/agents/prompts/planning_prompts.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import type { ChatMessage } from "../../lib/models/chat_message.ts";
import type { ModelFunction } from "../../lib/models/model.ts";
import type { PlanningStep } from "../../lib/memory/step_records.ts";

const text = (message: ChatMessage) => String(message.content);

// smolagents: test_agents.py::TestMultiStepAgent::test_planning_step (both parametrized cases)
Deno.test("test_planning_step: the initial plan is one user message; an update is system + memory + user", async (t) => {
  const agent = new ToolCallingAgent({ model: () => "", tools: [] });
  const toolDescriptions = agent.toolbox.showToolDescriptions();
  const task = "Test task";

  await t.step("step 1: INITIAL_PLAN_USER_PROMPT alone", () => {
    const state = agent.start(task);
    const messages = planningMessages(state, { memory: () => [], toolDescriptions });
    assert.deepEqual(messages, [{
      role: "user",
      content: fillPrompt(INITIAL_PLAN_PROMPT, {
        task,
        tool_descriptions: toolDescriptions,
        remaining_steps: String(agent.maxSteps - 1),
      }),
    }]);
  });

  await t.step("step 2: UPDATE_PLAN_SYSTEM_PROMPT, then UPDATE_PLAN_USER_PROMPT with max_steps - step", () => {
    const start = agent.start(task);
    const state = {
      ...start,
      stepNumber: 1,
      steps: [...start.steps, { type: "final_answer" as const, output: null }],
    };
    const values = { task, tool_descriptions: toolDescriptions, remaining_steps: String(agent.maxSteps - 2) };
    const messages = planningMessages(state, { memory: () => [], toolDescriptions });
    assert.deepEqual(messages, [
      { role: "system", content: fillPrompt(UPDATE_PLAN_PRE_PROMPT, values) },
      { role: "user", content: fillPrompt(UPDATE_PLAN_PROMPT, values) },
    ]);
    assert.match(text(messages[1]), new RegExp(`${agent.maxSteps - 2} steps remain`));
  });

  await t.step("the memory goes between them, without its system prompt", () => {
    const start = agent.start(task);
    const state = { ...start, stepNumber: 1, steps: [...start.steps, ...start.steps] };
    const memory = (): ChatMessage[] => [
      { role: "system", content: "SYSTEM PROMPT" },
      { role: "user", content: "New task:\nTest task" },
    ];
    const messages = planningMessages(state, { memory, toolDescriptions });
    assert.deepEqual(messages.map((m) => m.role), ["system", "user", "user"]);
    assert.doesNotMatch(JSON.stringify(messages), /SYSTEM PROMPT/);
  });
});

// smolagents: test_agents.py::TestAgent::test_planning_step_with_injected_memory
Deno.test("test_planning_step_with_injected_memory: a run continued with reset=false plans by update", async () => {
  const planningInputs: ChatMessage[][] = [];
  const model: ModelFunction = (messages, options) => {
    if (options.stopSequences?.includes("<end_plan>")) {
      planningInputs.push(messages);
      return "llm plan update planning_marker\n<end_plan>";
    }
    if (!options.tools) return "best answer";
    return {
      content: "action_marker",
      toolCalls: [{ id: "c", type: "function", function: { name: "calculator", arguments: { expression: "2^3" } } }],
    };
  };
  const maxSteps = 4;
  const task = "Continuous task";
  const previousTask = "Previous user request";
  const agent = new ToolCallingAgent({ model, tools: [calculatorTool], planningInterval: 1, maxSteps });
  // Memory injected before the run: a conversation holding an earlier request.
  const injected = agent.start(previousTask);
  const result = await agent.run(task, { reset: false, state: injected, returnFullResult: true });

  const plans = result.steps.filter((step): step is PlanningStep => step.type === "planning");
  assert.ok(plans.length > 2, "multiple planning steps");

  // The first plan is an update over the injected memory: system pre-message, both tasks, the user post-message.
  const first = planningInputs[0];
  assert.equal(first.length, 4, "system-plan-pre-update + memory + task + user-plan-post-update");
  assert.equal(first[0].role, "system");
  assert.match(text(first[0]), new RegExp(task));
  assert.match(text(first[1]), new RegExp(previousTask));
  assert.match(text(first[2]), new RegExp(task));
  assert.equal(first[3].role, "user");
  assert.match(text(first[3]), new RegExp(`${maxSteps - 1} steps remain`));

  // The second plan sees the first action's tool call and observation too.
  const second = planningInputs[1];
  assert.equal(second.length, 6, "second planning step includes the tool call and its observation");
  const conversation = second.map(text).join("");
  assert.match(conversation, new RegExp(previousTask));
  assert.match(conversation, new RegExp(task));
  assert.match(conversation, /Calling tools/);
  assert.doesNotMatch(conversation, /planning_marker/, "summary mode leaves earlier plans out");
});

/** A model that plans ("plan") and otherwise answers "ok"; it keeps the messages of each planning call. */
function planThenAnswer() {
  const planningInputs: ChatMessage[][] = [];
  const model: ModelFunction = (messages, options) => {
    if (options.stopSequences?.includes("<end_plan>")) {
      planningInputs.push(messages);
      return "plan\n<end_plan>";
    }
    return {
      content: null,
      toolCalls: [{ id: "c", type: "function", function: { name: "final_answer", arguments: "ok" } }],
    };
  };
  return { model, planningInputs };
}

// The counterpart: without earlier memory, the first plan of a run is the initial plan.
Deno.test("test_planning_step_with_injected_memory: a fresh run starts with the initial plan", async () => {
  const { model, planningInputs } = planThenAnswer();
  const agent = new ToolCallingAgent({ model, tools: [], planningInterval: 1 });
  assert.equal(await agent.run("first"), "ok");
  assert.equal(planningInputs[0].length, 1);
  assert.match(text(planningInputs[0][0]), /survey the facts/);
  // The same agent continued with reset=false: an update, not a fresh initial plan.
  assert.equal(await agent.run("second", { reset: false }), "ok");
  assert.equal(planningInputs[1][0].role, "system");
  assert.match(text(planningInputs[1][0]), /Task:\nsecond/);
  assert.match(planningInputs[1].map(text).join("\n"), /New task:\nfirst[^]*New task:\nsecond/);
});

// smolagents' planning prompts list the team members (initial_plan and update_plan_post_messages: "You can also
// give tasks to team members"); a manager plans knowing its managed agents.
Deno.test("planning prompts list the managed agents, as smolagents' do", async () => {
  const { model, planningInputs } = planThenAnswer();
  const researcher = new ToolCallingAgent({ name: "researcher", description: "Finds sources.", model: () => "" });
  const manager = new ToolCallingAgent({ model, managedAgents: [researcher], planningInterval: 1 });
  assert.equal(await manager.run("plan with the team"), "ok");
  const prompt = text(planningInputs[0][0]);
  assert.match(prompt, /You can also give tasks to team members/);
  assert.match(prompt, /- researcher: Finds sources\./);
  const alone = new ToolCallingAgent({ model, planningInterval: 1 });
  await alone.run("plan alone");
  assert.doesNotMatch(text(planningInputs[1][0]), /team members/);
});
