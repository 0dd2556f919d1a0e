/** The parts that keep a run record bounded: the task stored once, variable caps, long fields by reference. */

import assert from "node:assert/strict";
import { z } from "zod";
import { BlobStore, parseAgentState, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { type AgentState, packState } from "../../lib/memory/agent_state.ts";
import { capVariables } from "../../lib/agents/persisted_variables.ts";
import { externalizeLongFields, MAX_INLINE_FINAL_ANSWER_CHARS } from "../../lib/memory/large_observations.ts";
import type { ActionStep } from "../../lib/memory/step_records.ts";

const echo = (answer: unknown) =>
  new ToolCallingAgent({
    name: "echo",
    model: () => ({
      content: null,
      toolCalls: [{ id: "c1", type: "function", function: { name: "final_answer", arguments: { answer } } }],
    }),
  });

Deno.test("the task is stored once: packState leaves it out, parseAgentState restores it (sub-runs too)", () => {
  const agent = echo("x");
  const task = "Summarize this.".repeat(1_000);
  const state = agent.start(task, { additionalArgs: { doc: "d" } });
  assert.ok((state.steps[0] as { task: string }).task.startsWith(`${task}\n`), "the task record adds the arguments");
  const child = agent.start("child task");
  const withSub: AgentState = {
    ...state,
    subRun: { agentName: "echo", callId: "c", state: child, queue: [], reports: [] },
  };
  const json = JSON.stringify(packState(withSub));
  assert.equal(json.split("Summarize this.").length - 1, 1_000, "the task text appears once");
  assert.equal(json.split("child task").length - 1, 1);
  assert.deepEqual(parseAgentState(JSON.parse(json)), withSub);

  // A state whose task record does not start with the task (edited by a callback, say) keeps `task`.
  const edited = { ...state, task: "something else" };
  assert.equal((packState(edited) as { task?: string }).task, "something else");
  assert.deepEqual(parseAgentState(JSON.parse(JSON.stringify(packState(edited)))), edited);
});

Deno.test("a version 4 state with a version 4 sub-run still parses", () => {
  const agent = echo("x");
  const child = { ...agent.start("child"), version: 4 };
  const parent = { ...agent.start("parent"), version: 4, subRun: { agentName: "echo", callId: "c", state: child } };
  const parsed = parseAgentState({ ...parent, subRun: { ...parent.subRun, queue: [], reports: [] } });
  assert.equal(parsed.version, 5);
  assert.equal(parsed.subRun?.state.version, 5);
});

Deno.test("capVariables: per-variable and total caps (largest dropped first); additional-argument copies not kept", () => {
  const caps = { maxVariableBytes: 1_000, maxVariablesBytes: 1_500 };
  const variables = {
    huge: "h".repeat(5_000),
    a: "a".repeat(600),
    b: "b".repeat(900),
    c: 1,
    doc: "the document",
    changed: "new",
  };
  const args = { doc: "the document", changed: "old" };
  const capped = capVariables(variables, args, caps);
  assert.deepEqual(Object.keys(capped.variables), ["a", "c", "changed"], "order kept, b no longer fits with a");
  assert.deepEqual(capped.tooLarge, [{ name: "huge", bytes: 5_006 }, { name: "b", bytes: 903 }]);
});

Deno.test("externalizeLongFields: without a blob store nothing changes; a blob that does not fit becomes a cut text; the argument is never changed", async () => {
  const input: Pick<ActionStep, "modelOutput" | "code" | "toolCalls" | "storedFields"> = {
    modelOutput: "m".repeat(50_000),
    code: "short",
    toolCalls: [{ id: "c", name: "t", arguments: { text: "q".repeat(50_000) } }],
  };
  const copy = structuredClone(input);
  assert.deepEqual(await externalizeLongFields(input, undefined, 4_000), copy);

  // A store whose values hold 10,000 bytes: blobs of 50,000 characters are refused, so the texts are cut.
  const blobs = new BlobStore(new MemoryStore({ maxValueBytes: 10_000 }));
  const draft = await externalizeLongFields(input, blobs, 4_000);
  assert.deepEqual(input, copy, "the argument is not changed");
  assert.equal(draft.storedFields, undefined);
  assert.equal(draft.code, "short");
  assert.match(
    draft.modelOutput!,
    /^m{2000}\n\.\.\.\[truncated: 46000 of 50000 characters removed\]\.\.\.\nm{2000}$/,
  );
  assert.equal(typeof draft.toolCalls[0].arguments, "string");
  assert.ok((draft.toolCalls[0].arguments as string).length < 4_100, "cut to the threshold");

  // A store that holds them: previews and refs in the result, the argument still as it was.
  const stored = await externalizeLongFields(input, new BlobStore(new MemoryStore()), 4_000);
  assert.deepEqual(input, copy, "the argument is not changed");
  assert.deepEqual(Object.keys(stored.storedFields ?? {}), ["modelOutput", "toolCalls.0.arguments"]);
  assert.match(stored.modelOutput!, /is stored as blob:sha256:/);
});

Deno.test("a long final answer is kept once: in full in finalAnswer, by ref in the step records", async () => {
  const store = new MemoryStore();
  const blobs = new BlobStore(store);
  const answer = { rows: Array.from({ length: 2_000 }, (_, i) => ({ i, text: "row" })) };
  assert.ok(JSON.stringify(answer).length > 4_000 && JSON.stringify(answer).length < MAX_INLINE_FINAL_ANSWER_CHARS);
  const agent = echo(answer);
  const { state, step } = await agent.step(agent.start("Answer."), { blobs });
  assert.equal(state.status, "succeeded");
  assert.deepEqual(state.finalAnswer, answer);
  const action = step as ActionStep;
  assert.match(action.actionOutput as string, /^blob:sha256:[0-9a-f]{64};type=application\/json$/);
  assert.equal(state.steps.at(-1)?.type, "final_answer");
  assert.equal((state.steps.at(-1) as { output: unknown }).output, action.actionOutput);
  assert.equal(state.steps.indexOf(step), 1, "the returned step is the one in the state");
  assert.deepEqual(JSON.parse(await blobs.resolveText(action.actionOutput as string)), answer);
});

Deno.test("tool-call arguments stored by reference are read back in full by the model", async () => {
  const store = new MemoryStore();
  const blobs = new BlobStore(store);
  const long = "w".repeat(10_000);
  let seen = "";
  let calls = 0;
  const agent = new ToolCallingAgent({
    name: "writer",
    model: (messages) => {
      seen = JSON.stringify(messages);
      calls++;
      const call = calls === 1
        ? { name: "write", arguments: { text: long } }
        : { name: "final_answer", arguments: { answer: "ok" } };
      return { content: null, toolCalls: [{ id: `c${calls}`, type: "function" as const, function: call }] };
    },
    tools: [tool({ name: "write", description: "w", inputs: z.object({ text: z.string() }), run: () => "written" })],
  });
  const first = await agent.step(agent.start("Write."), { blobs });
  const action = first.step as ActionStep;
  assert.match(action.toolCalls[0].arguments as string, /is stored as blob:sha256:/);
  assert.match(action.storedFields!["toolCalls.0.arguments"], /;type=application\/json$/);
  await agent.step(first.state, { blobs });
  assert.ok(seen.includes(long), "the model saw the full arguments");
});
