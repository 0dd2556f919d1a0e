import assert from "node:assert/strict";
import {
  type ActionFields,
  type ActionOutcome,
  type ActionStep,
  agentFromJSON,
  type AgentOptions,
  type AgentState,
  AgentToolCallError,
  type FinalAnswerCheck,
  type ModelFunction,
  MultiStepAgent,
  type PendingInput,
  type StepContext,
  StepRefusedError,
  ToolCallingAgent,
} from "../../lib/mod.ts";
import { functionModel } from "../support/function_model.ts";

const noModel: ModelFunction = () => {
  throw new Error("this kind never calls the model");
};

const fields = (observations: string | null): ActionFields => ({
  modelOutput: "Thought: scripted.",
  toolCalls: [],
  observations,
  tokenUsage: { inputTokens: 3, outputTokens: 2 },
});

/** An agent kind of its own: `act()` returns the next scripted outcome (or throws it). */
class ScriptedAgent extends MultiStepAgent {
  readonly script: Array<ActionOutcome | Error> = [];
  readonly contexts: StepContext[] = [];

  get kind(): string {
    return "ScriptedAgent";
  }

  get systemPrompt(): string {
    return "You follow a script.";
  }

  static fromDefinition(options: AgentOptions): ScriptedAgent {
    return new ScriptedAgent(options);
  }

  protected act(context: StepContext): Promise<ActionOutcome> {
    this.contexts.push(context);
    const next = this.script.shift();
    if (!next) throw new Error("script ran out");
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }

  protected override resumeAction(
    paused: ActionFields,
    pending: PendingInput,
    input: unknown,
  ): Promise<ActionOutcome> {
    assert.equal(pending.kind, "question");
    return Promise.resolve({
      kind: "continue",
      action: { ...paused, observations: `answered: ${JSON.stringify(input)}`, actionOutput: input },
    });
  }
}

function clock(start = 1_000): () => number {
  let now = start;
  return () => now += 10;
}

const lastAction = (state: AgentState) => state.steps.findLast((step) => step.type === "action") as ActionStep;

Deno.test("step(): an agent kind's act() returns an outcome, and the step acts on its kind", async (t) => {
  await t.step("continue: recorded, the run goes on, variables kept; the input state is untouched", async () => {
    const agent = new ScriptedAgent({ model: noModel });
    agent.script.push({ kind: "continue", action: fields("seen"), variables: { x: 1 } });
    const state = agent.start("task");
    const before = structuredClone(state);
    const { state: next, step, events } = await agent.step(state, { now: clock() });
    assert.deepEqual(state, before);
    assert.equal(next.status, "running");
    assert.equal(next.stepNumber, 1);
    assert.deepEqual(next.variables, { x: 1 });
    assert.deepEqual(next.tokenUsage, { inputTokens: 3, outputTokens: 2 });
    assert.equal(step.type, "action");
    assert.equal((step as ActionStep).observations, "seen");
    assert.equal((step as ActionStep).isFinalAnswer, false);
    assert.deepEqual(events.map((event) => event.type), ["step"]);
  });

  await t.step("the clock comes from the step's options: timing and updatedAt", async () => {
    const agent = new ScriptedAgent({ model: noModel });
    agent.script.push({ kind: "continue", action: fields("seen") });
    const { state, step } = await agent.step(agent.start("task"), { now: clock(5_000) });
    assert.deepEqual((step as ActionStep).timing, { startTime: 5_010, endTime: 5_020, durationMs: 10 });
    assert.equal(state.updatedAt, 5_030);
  });

  await t.step("error: recorded on the step and fed back; a thrown AgentError is the same", async () => {
    const agent = new ScriptedAgent({ model: noModel });
    agent.script.push({ kind: "error", action: fields("partial"), error: new AgentToolCallError("no such tool") });
    agent.script.push(new AgentToolCallError("thrown instead"));
    const first = await agent.step(agent.start("task"));
    assert.equal(first.state.status, "running");
    assert.deepEqual((first.step as ActionStep).error, { type: "AgentToolCallError", message: "no such tool" });
    assert.equal((first.step as ActionStep).observations, "partial");
    const second = await agent.step(first.state);
    assert.deepEqual((second.step as ActionStep).error, { type: "AgentToolCallError", message: "thrown instead" });
    assert.equal(second.state.stepNumber, 2);
  });

  await t.step("anything else thrown by act() is thrown by step(), and nothing is recorded", async () => {
    const agent = new ScriptedAgent({ model: noModel });
    agent.script.push(new TypeError("a bug in the kind"));
    const state = agent.start("task");
    await assert.rejects(agent.step(state), TypeError);
    assert.equal(state.steps.length, 1);
  });

  await t.step("pause: awaiting_input; resume completes the same step in place", async () => {
    const agent = new ScriptedAgent({ model: noModel });
    const pending: PendingInput = { kind: "question", question: "Which city?", callId: "call_1" };
    agent.script.push({ kind: "pause", action: fields(null), pending });
    const paused = await agent.step(agent.start("task"), { now: clock() });
    assert.equal(paused.state.status, "awaiting_input");
    assert.deepEqual(paused.state.pendingInput, pending);
    assert.deepEqual(paused.events.map((event) => event.type), ["step", "awaiting_input"]);
    // Stepped without its input: refused as a KV run is (not_awaiting_input), not as an ended run.
    await assert.rejects(
      agent.step(paused.state),
      (e: Error) =>
        e instanceof StepRefusedError && e.code === "not_awaiting_input" && /waiting for input/.test(e.message),
    );

    const resumed = await agent.resume(paused.state, "Paris", { now: clock(9_000) });
    assert.equal(resumed.state.status, "running");
    assert.equal(resumed.state.pendingInput, undefined);
    assert.equal(resumed.state.steps.length, paused.state.steps.length, "completed in place, not appended");
    const step = lastAction(resumed.state);
    assert.equal(step.stepNumber, 1);
    assert.equal(step.observations, 'answered: "Paris"');
    assert.equal(step.timing.startTime, lastAction(paused.state).timing.startTime);
    assert.deepEqual(resumed.state.tokenUsage, { inputTokens: 3, outputTokens: 2 }, "usage counted once");
  });

  await t.step("final: the answer ends the run with a closing final_answer record", async () => {
    const agent = new ScriptedAgent({ model: noModel });
    agent.script.push({ kind: "final", action: fields("done"), answer: { city: "Paris" } });
    const { state, step, events } = await agent.step(agent.start("task"));
    assert.equal(state.status, "succeeded");
    assert.deepEqual(state.finalAnswer, { city: "Paris" });
    assert.deepEqual(state.steps.at(-1), { type: "final_answer", output: { city: "Paris" } });
    assert.equal((step as ActionStep).isFinalAnswer, true);
    assert.deepEqual((step as ActionStep).actionOutput, { city: "Paris" });
    assert.deepEqual(events.at(-1), {
      type: "final_answer",
      agent: "agent",
      status: "succeeded",
      output: { city: "Paris" },
    });
  });

  await t.step("final refused by a check: recorded as an error, the run goes on", async () => {
    const seen: unknown[] = [];
    const check: FinalAnswerCheck = (answer, _memory, agent) => (seen.push(agent.name), answer !== "wrong");
    const agent = new ScriptedAgent({ model: noModel, finalAnswerChecks: [check] });
    agent.script.push({ kind: "final", action: fields("done"), answer: "wrong" });
    const { state, step } = await agent.step(agent.start("task"));
    assert.equal(state.status, "running");
    assert.equal((step as ActionStep).isFinalAnswer, false);
    assert.match((step as ActionStep).error!.message, /Check check failed with error/);
    assert.deepEqual(seen, ["agent"]);
  });

  await t.step("a kind of one's own is rebuilt from JSON when passed in `kinds`", () => {
    const agent = new ScriptedAgent({ model: noModel, name: "scripted", maxSteps: 4 });
    const rebuilt = agentFromJSON(agent.toJSON(), { kinds: { ScriptedAgent }, tools: [], model: noModel });
    assert.ok(rebuilt instanceof ScriptedAgent);
    assert.equal(rebuilt.maxSteps, 4);
    assert.throws(
      () => MultiStepAgent.fromJSON(agent.toJSON(), { kinds: {}, tools: [], model: noModel }),
      /Unknown agent kind 'ScriptedAgent'/,
    );
  });
});

Deno.test("run(): a fixed clock (RunOptions.now) makes every timing field of a run deterministic", async (t) => {
  const fixed = () => 42_000;
  const timings = (state: AgentState) =>
    state.steps.flatMap((step) => step.type === "action" || step.type === "planning" ? [step.timing] : []);
  const still = { startTime: 42_000, endTime: 42_000, durationMs: 0 };

  await t.step("plans, action steps, a managed agent's sub-run, the state and the run's timing", async () => {
    const helper = functionModel([{ calls: [["final_answer", { answer: "4" }]] }]);
    const sub = new ToolCallingAgent({ name: "helper", description: "adds", model: helper.model });
    const { model } = functionModel([
      "plan\n<end_plan>",
      { calls: [["helper", { task: "2+2" }]] },
      "plan again\n<end_plan>",
      { calls: [["final_answer", { answer: "done" }]] },
    ]);
    const agent = new ToolCallingAgent({ model, managedAgents: [sub], planningInterval: 1, maxSteps: 4 });
    const subRunStates: AgentState[] = [];
    const stream = agent.run("go", { stream: true, now: fixed });
    for await (const _event of stream) {
      if (agent.lastState?.subRun) subRunStates.push(agent.lastState.subRun.state);
    }
    const state = agent.lastState!;
    assert.equal(state.status, "succeeded");
    assert.deepEqual([state.createdAt, state.updatedAt], [42_000, 42_000]);
    assert.deepEqual(timings(state), Array(timings(state).length).fill(still));
    assert.deepEqual(state.steps.map((step) => step.type), [
      "task",
      "planning",
      "action",
      "planning",
      "action",
      "final_answer",
    ]);
    assert.ok(subRunStates.length > 0, "the sub-run was seen");
    for (const subState of subRunStates) {
      assert.deepEqual([subState.createdAt, subState.updatedAt], [42_000, 42_000]);
      assert.deepEqual(timings(subState), Array(timings(subState).length).fill(still));
    }
  });

  await t.step("returnFullResult: the run's timing; a failed run's updatedAt", async () => {
    const { model } = functionModel([{ calls: [["final_answer", { answer: "x" }]] }]);
    const agent = new ToolCallingAgent({ model });
    const result = await agent.run("go", { returnFullResult: true, now: fixed });
    assert.deepEqual(result.timing, still);
    assert.deepEqual(timings({ steps: result.steps } as AgentState), [still]);

    const failing = new ToolCallingAgent({ model: functionModel([new Error("model down")]).model });
    const failed = await failing.run("go", { returnFullResult: true, now: fixed });
    assert.equal(failed.state, "failed");
    assert.equal(failing.lastState?.updatedAt, 42_000);
  });
});
