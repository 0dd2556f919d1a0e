import assert from "node:assert/strict";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import { type AgentState, CodeAgent, OpenAIServerModel, tool, ToolCallingAgent } from "../../lib/mod.ts";
import { startScriptedModelServer, toolCallReply } from "../support/scripted_model_server.ts";
import { spanRecorder } from "../support/span_recorder.ts";
import { AsyncContextManager } from "../support/async_context_manager.ts";
import { z } from "zod";

const API_KEY = "sk-tracing-model-key-0123456789";
const TASK = "What is 6 times 7? private-task-text-4f1c";

const multiply = tool({
  name: "multiply",
  description: "Multiplies two numbers.",
  inputs: z.object({ a: z.number().describe("a"), b: z.number().describe("b") }),
  output: "number",
  run: ({ a, b }) => a * b,
});

const failing = tool({
  name: "explode",
  description: "Always fails.",
  inputs: z.object({}),
  run: () => {
    throw new Error(`boom with ${API_KEY}`);
  },
});

function model(url: string, modelId = "scripted-model") {
  return new OpenAIServerModel({ modelId, apiBase: url, apiKey: API_KEY, maxRetries: 0 });
}

/** Every attribute value of every span, as text: what leaves the process. */
function everything(spans: ReadableSpan[]): string {
  return JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status })));
}

Deno.test("ToolCallingAgent: a step span per invocation, its model and tool calls as children", async () => {
  const recorder = spanRecorder();
  await using server = await startScriptedModelServer({
    replies: [
      { toolCalls: [{ name: "multiply", arguments: { a: 6, b: 7 }, id: "call_mul" }], usage: usage(11, 5) },
      { toolCalls: [{ name: "final_answer", arguments: { answer: "42" }, id: "call_end" }], usage: usage(23, 4) },
    ],
  });
  const agent = new ToolCallingAgent({ name: "calc", model: model(server.url), tools: [multiply] });
  let state: AgentState = agent.start(TASK);
  while (state.status === "running") {
    state = (await agent.step(state, { tracerProvider: recorder.provider, runId: "run-123" })).state;
  }
  assert.equal(state.status, "succeeded");

  const steps = recorder.named("invoke_agent calc");
  assert.equal(steps.length, 2);
  assert.deepEqual(recorder.roots(), steps, "step spans are the roots: no span covers the run");
  for (const [i, step] of steps.entries()) {
    assert.equal(step.kind, SpanKind.INTERNAL);
    assert.equal(step.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(pick(step, "gen_ai.operation.name", "gen_ai.agent.name", "gen_ai.request.model"), {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": "calc",
      "gen_ai.request.model": "scripted-model",
    });
    assert.equal(step.attributes["smolstep.run.id"], "run-123");
    assert.equal(step.attributes["gen_ai.conversation.id"], "run-123");
    assert.equal(step.attributes["smolstep.step.number"], i + 1);
    assert.equal(step.attributes["smolstep.step.type"], "action");
    assert.equal(step.attributes["smolstep.run.status"], i === 0 ? "running" : "succeeded");
    assert.equal(step.instrumentationScope.name, "smolstep");
    const children = recorder.childrenOf(step);
    assert.deepEqual(children.map((s) => s.name), [
      "chat scripted-model",
      `execute_tool ${i ? "final_answer" : "multiply"}`,
    ]);
    const [chat, call] = children;
    assert.equal(chat.kind, SpanKind.CLIENT);
    assert.deepEqual(pick(chat, "gen_ai.operation.name", "gen_ai.request.model"), {
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "scripted-model",
    });
    assert.deepEqual(pick(call, "gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.tool.call.id"), {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": i ? "final_answer" : "multiply",
      "gen_ai.tool.call.id": i ? "call_end" : "call_mul",
    });
  }
  // Token usage: each model call's on its chat span, the step's total on the step span, as the record says.
  const chats = recorder.named("chat scripted-model");
  assert.deepEqual(
    chats.map((s) => [s.attributes["gen_ai.usage.input_tokens"], s.attributes["gen_ai.usage.output_tokens"]]),
    [
      [11, 5],
      [23, 4],
    ],
  );
  assert.deepEqual(steps.map((s) => s.attributes["gen_ai.usage.input_tokens"]), [11, 23]);
  assert.deepEqual(state.tokenUsage, { inputTokens: 34, outputTokens: 9 });
  // No content: no prompt, task, arguments, answer or key.
  const text = everything(recorder.spans());
  for (const secret of [API_KEY, "private-task-text", "42"]) assert.ok(!text.includes(secret), `${secret} in spans`);
  await recorder.shutdown();
});

Deno.test("run(): one invoke_workflow span over the run's step spans, failed when the run fails", async (t) => {
  const recorder = spanRecorder();
  await using server = await startScriptedModelServer();
  const agent = new ToolCallingAgent({ name: "calc", model: model(server.url), tools: [multiply] });
  await t.step("a run that succeeds", async () => {
    server.enqueue(
      { toolCalls: [{ name: "multiply", arguments: { a: 6, b: 7 } }], usage: usage(10, 2) },
      { toolCalls: [{ name: "final_answer", arguments: { answer: "42" } }], usage: usage(20, 3) },
    );
    assert.equal(await agent.run(TASK, { tracerProvider: recorder.provider }), "42");
    const [run] = recorder.roots();
    assert.equal(run.name, "invoke_workflow calc");
    assert.deepEqual(recorder.childrenOf(run).map((s) => s.name), ["invoke_agent calc", "invoke_agent calc"]);
    assert.deepEqual(
      pick(run, "gen_ai.operation.name", "gen_ai.agent.name", "smolstep.run.status", "smolstep.run.steps"),
      {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.agent.name": "calc",
        "smolstep.run.status": "succeeded",
        "smolstep.run.steps": 2,
      },
    );
    assert.deepEqual(pick(run, "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"), {
      "gen_ai.usage.input_tokens": 30,
      "gen_ai.usage.output_tokens": 5,
    });
    recorder.reset();
  });
  await t.step("a run whose model fails: the run span is failed too", async () => {
    server.enqueue({ status: 500, error: "down" });
    const result = await agent.run(TASK, { tracerProvider: recorder.provider, returnFullResult: true });
    assert.equal(result.state, "failed");
    const [run] = recorder.roots();
    assert.equal(run.status.code, SpanStatusCode.ERROR);
    assert.equal(run.attributes["error.type"], "AgentGenerationError");
    assert.equal(run.attributes["smolstep.run.status"], "failed");
    recorder.reset();
  });
  await t.step("stream() abandoned early still ends its span", async () => {
    server.enqueue(toolCallReply("multiply", { a: 1, b: 2 }));
    for await (const _event of agent.stream(TASK, { tracerProvider: recorder.provider })) break;
    const [run] = recorder.roots();
    assert.equal(run.name, "invoke_workflow calc");
    assert.equal(run.attributes["smolstep.run.status"], "running");
  });
  await recorder.shutdown();
});

Deno.test("CodeAgent: tools called from the sandbox are children of the step span", async () => {
  const recorder = spanRecorder();
  await using server = await startScriptedModelServer({
    replies: [
      "Thought: multiply.\n<code>\nconst x = await multiply({ a: 6, b: 7 });\nconsole.log(x);\n</code>",
      "<code>\ntry { await explode({}); } catch (e) { print('failed'); }\nfinal_answer('done');\n</code>",
    ],
  });
  const executor = createDenoQuickJSExecutor({ timeLimitMs: 30_000 }); // generous: the first worker compiles on a loaded machine;
  const agent = new CodeAgent({ name: "coder", model: model(server.url), tools: [multiply, failing], executor });
  const result = await agent.run(TASK, { returnFullResult: true });
  assert.equal(result.state, "succeeded");
  const steps = recorder.named("invoke_agent coder");
  assert.equal(steps.length, 0, "run() without a tracerProvider uses the global one: no provider, no spans");

  let state = agent.start(TASK);
  server.enqueue(
    "Thought: multiply.\n<code>\nconst x = await multiply({ a: 6, b: 7 });\nconsole.log(x);\n</code>",
    "<code>\ntry { await explode({}); } catch (e) { print('failed'); }\nfinal_answer('done');\n</code>",
  );
  while (state.status === "running") state = (await agent.step(state, { tracerProvider: recorder.provider })).state;
  assert.equal(state.status, "succeeded");
  const traced = recorder.named("invoke_agent coder");
  assert.equal(traced.length, 2);
  assert.deepEqual(recorder.childrenOf(traced[0]).map((s) => s.name), ["chat scripted-model", "execute_tool multiply"]);
  assert.deepEqual(recorder.childrenOf(traced[1]).map((s) => s.name), ["chat scripted-model", "execute_tool explode"]);
  const exploded = recorder.named("execute_tool explode")[0];
  assert.equal(exploded.status.code, SpanStatusCode.ERROR);
  assert.equal(exploded.attributes["error.type"], "Error");
  assert.equal(exploded.attributes["gen_ai.tool.call.id"], undefined, "code calls have no call id");
  assert.ok(!everything(recorder.spans()).includes(API_KEY), "the tool's error message (with a key) is not recorded");
  await recorder.shutdown();
});

Deno.test("a failed model call marks the chat span and the step span failed, by code", async () => {
  const recorder = spanRecorder();
  await using server = await startScriptedModelServer({
    replies: [{ status: 500, error: `upstream failure for key ${API_KEY}` }],
  });
  const agent = new ToolCallingAgent({ name: "calc", model: model(server.url), tools: [multiply] });
  await assert.rejects(agent.step(agent.start(TASK), { tracerProvider: recorder.provider }));
  const [step] = recorder.named("invoke_agent calc");
  const [chat] = recorder.childrenOf(step);
  assert.equal(chat.name, "chat scripted-model");
  for (const span of [chat, step]) {
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(typeof span.attributes["error.type"], "string");
    assert.match(String(span.attributes["error.type"]), /^[a-z_]+$/, "a code, not a message");
  }
  assert.equal(chat.attributes["error.type"], "model_error");
  assert.equal(step.attributes["error.type"], "model_error");
  assert.ok(!everything(recorder.spans()).includes(API_KEY));
  await recorder.shutdown();
});

Deno.test("a managed agent's step span nests under its manager's", async () => {
  const recorder = spanRecorder();
  await using server = await startScriptedModelServer({
    replies: [
      toolCallReply("helper", { task: "multiply 6 by 7" }, "call_delegate"),
      toolCallReply("final_answer", { answer: "42" }, "call_helper_end"),
      toolCallReply("final_answer", { answer: "42" }, "call_manager_end"),
    ],
  });
  const helper = new ToolCallingAgent({
    name: "helper",
    description: "Does sums.",
    model: model(server.url, "helper-model"),
    tools: [multiply],
  });
  const manager = new ToolCallingAgent({ name: "boss", model: model(server.url), managedAgents: [helper] });
  let state = manager.start(TASK);
  while (state.status === "running") {
    state = (await manager.step(state, { tracerProvider: recorder.provider, runId: "run-9" })).state;
  }
  assert.equal(state.status, "succeeded");
  const bossSteps = recorder.named("invoke_agent boss");
  assert.equal(bossSteps.length, 3);
  assert.deepEqual(recorder.roots(), bossSteps);
  const [helperStep] = recorder.named("invoke_agent helper");
  assert.equal(helperStep.parentSpanContext?.spanId, bossSteps[1].spanContext().spanId);
  assert.equal(helperStep.attributes["gen_ai.request.model"], "helper-model");
  assert.equal(helperStep.attributes["smolstep.run.id"], "run-9", "a sub-run's steps carry the run's id");
  assert.deepEqual(recorder.childrenOf(helperStep).map((s) => s.name), [
    "chat helper-model",
    "execute_tool final_answer",
  ]);
  assert.equal(bossSteps[1].attributes["smolstep.step.agent"], "boss/helper");
  await recorder.shutdown();
});

Deno.test("with no provider registered, nothing records; with one, tools run inside their span", async (t) => {
  // A context manager, as OTEL_DENO or @opentelemetry/context-async-hooks installs: user code sees the active span.
  assert.ok(context.setGlobalContextManager(new AsyncContextManager()));
  const seen: unknown[] = [];
  const probe = tool({
    name: "probe",
    description: "Reports the active span.",
    inputs: z.object({}),
    run: () => {
      const span = trace.getActiveSpan();
      seen.push(span?.isRecording() ? (span as unknown as ReadableSpan).name : false);
      return "ok";
    },
  });
  await using server = await startScriptedModelServer();
  const agent = new ToolCallingAgent({ name: "calc", model: model(server.url), tools: [probe] });
  const script = () => server.enqueue(toolCallReply("probe", {}), toolCallReply("final_answer", { answer: "ok" }));
  try {
    await t.step("no provider: the run works, no span records", async () => {
      script();
      assert.equal(await agent.run(TASK), "ok");
      assert.deepEqual(seen, [false]);
    });
    await t.step("a global provider: the tool runs inside its execute_tool span", async () => {
      const recorder = spanRecorder();
      assert.ok(trace.setGlobalTracerProvider(recorder.provider));
      script();
      assert.equal(await agent.run(TASK), "ok");
      assert.deepEqual(seen, [false, "execute_tool probe"]);
      assert.equal(recorder.named("invoke_agent calc").length, 2);
      assert.deepEqual(recorder.roots().map((s) => s.name), ["invoke_workflow calc"]);
      await recorder.shutdown();
    });
  } finally {
    trace.disable();
    context.disable();
  }
});

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion };
}

function pick(span: ReadableSpan, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, span.attributes[key]]));
}
