import assert from "node:assert/strict";
import { z } from "zod";
import { createDenoQuickJSExecutor } from "../../lib/adapters/deno/quickjs_wasm_deno.ts";
import {
  type ActionStep,
  agentFromJSON,
  CodeAgent,
  ConfigurationError,
  Tool,
  tool,
  ToolCallingAgent,
  type ToolContext,
  type ToolInputs,
} from "../../lib/mod.ts";
import { DEFAULT_TOOL_TIMEOUT_MS } from "../../lib/tools/tool_time_limit.ts";
import { RETRY_HINT } from "../../lib/memory/memory_to_messages.ts";
import { functionModel } from "../support/function_model.ts";

const actions = (steps: unknown[]) => steps.filter((s) => (s as ActionStep).type === "action") as ActionStep[];

/** The attack: a tool whose promise never settles. It records the signal it was given. */
function hangingTool(seen: AbortSignal[], timeoutMs?: number) {
  return tool({
    name: "hang",
    description: "Never answers.",
    inputs: z.object({}),
    timeoutMs,
    run: (_args, { signal }) => {
      seen.push(signal!);
      return new Promise<string>(() => {});
    },
  });
}

/** Answers after `ms`, honouring nothing. */
function sleeper(name: string, ms: number, timeoutMs?: number) {
  return tool({
    name,
    description: `Answers after ${ms} ms.`,
    inputs: z.object({}),
    timeoutMs,
    run: () => new Promise<string>((resolve) => setTimeout(() => resolve(`${name} done`), ms)),
  });
}

Deno.test("ToolCallingAgent: a tool that never resolves (hung tool attack) times out; the model sees it and the run goes on", async () => {
  const seen: AbortSignal[] = [];
  const { model, calls } = functionModel([
    { calls: [["hang", {}], ["quick", {}]] },
    { calls: [["final_answer", { answer: "moved on" }]] },
  ]);
  const agent = new ToolCallingAgent({ model, tools: [hangingTool(seen), sleeper("quick", 5)], toolTimeoutMs: 150 });
  const started = Date.now();
  const result = await agent.run("go", { returnFullResult: true });
  assert.ok(Date.now() - started < 5_000, "the step did not wait for the hung tool");
  assert.equal(result.output, "moved on");
  const [first] = actions(result.steps);
  assert.equal(first.error?.type, "AgentToolExecutionError");
  assert.match(first.error!.message, /Error when executing tool 'hang'.*time limit of 150 ms/);
  assert.equal(first.observations, "quick done", "the other call's result is kept");
  assert.equal(seen[0].aborted, true, "the hung tool's signal was aborted");
  assert.equal(seen[0].reason.name, "TimeoutError");
  const feedback = String(calls[1].messages.at(-1)!.content);
  assert.match(feedback, /time limit of 150 ms/);
  assert.ok(feedback.endsWith(RETRY_HINT));
});

Deno.test("ToolCallingAgent: a tool's own timeoutMs beats the agent's default, both ways", async (t) => {
  await t.step("a shorter per-tool limit stops the tool before the agent default", async () => {
    const seen: AbortSignal[] = [];
    const { model } = functionModel([{ calls: [["hang", {}]] }]);
    const agent = new ToolCallingAgent({ model, tools: [hangingTool(seen, 50)], toolTimeoutMs: 30_000 });
    const started = Date.now();
    const { step } = await agent.step(agent.start("go"));
    assert.ok(Date.now() - started < 5_000);
    assert.match((step as ActionStep).error!.message, /time limit of 50 ms/);
  });
  await t.step("a longer per-tool limit lets a slow tool finish past the agent default", async () => {
    const { model } = functionModel([{ calls: [["slow", {}], ["strict", {}]] }]);
    const agent = new ToolCallingAgent({
      model,
      tools: [sleeper("slow", 200, 5_000), sleeper("strict", 200)],
      toolTimeoutMs: 50,
    });
    const { step } = await agent.step(agent.start("go"));
    const action = step as ActionStep;
    assert.match(action.observations!, /slow done/, "the tool with its own longer limit finished");
    assert.match(action.error!.message, /'strict'.*time limit of 50 ms/, "the other one had the agent default");
  });
});

Deno.test("ToolCallingAgent: aborting the step aborts the tool's signal and records nothing", async () => {
  const seen: AbortSignal[] = [];
  const { model } = functionModel([{ calls: [["hang", {}]] }]);
  const agent = new ToolCallingAgent({ model, tools: [hangingTool(seen)] });
  const state = agent.start("go");
  const controller = new AbortController();
  const stepping = agent.step(state, { signal: controller.signal });
  while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort(new DOMException("client went away", "AbortError"));
  await assert.rejects(stepping, (error: Error) => error.name === "AbortError");
  assert.equal(seen[0].aborted, true);
  assert.equal(seen[0].reason.message, "client went away");
  assert.equal(state.steps.length, 1, "the input state is untouched");
});

Deno.test("ToolCallingAgent: a tool that fails after its limit is no unhandled rejection", async () => {
  const late = tool({
    name: "late",
    description: "Fails too late.",
    inputs: z.object({}),
    timeoutMs: 20,
    run: () => new Promise((_resolve, reject) => setTimeout(() => reject(new Error("too late")), 80)),
  });
  const { model } = functionModel([{ calls: [["late", {}]] }]);
  const agent = new ToolCallingAgent({ model, tools: [late] });
  const { step } = await agent.step(agent.start("go"));
  assert.match((step as ActionStep).error!.message, /'late'.*time limit of 20 ms/);
  // Deno fails the test on an unhandled rejection; wait past the tool's late failure.
  await new Promise((resolve) => setTimeout(resolve, 120));
});

Deno.test("Tool time limits: subclasses set timeoutMs; invalid limits are configuration errors", async () => {
  class Stuck extends Tool<Record<string, never>, string> {
    readonly name = "stuck";
    readonly description = "Stuck.";
    readonly inputs: ToolInputs = {};
    readonly outputType = "string";
    override timeoutMs = 30;
    forward(_args: Record<string, never>, { signal }: ToolContext): Promise<string> {
      return new Promise((_resolve, reject) => signal!.addEventListener("abort", () => reject(signal!.reason)));
    }
  }
  const { model } = functionModel([{ calls: [["stuck", {}]] }]);
  const agent = new ToolCallingAgent({ model, tools: [new Stuck()] });
  assert.equal(agent.toolTimeoutMs, DEFAULT_TOOL_TIMEOUT_MS);
  const { step } = await agent.step(agent.start("go"));
  assert.match((step as ActionStep).error!.message, /'stuck'.*time limit of 30 ms/);

  for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31]) {
    assert.throws(() => new ToolCallingAgent({ model, toolTimeoutMs: bad }), ConfigurationError, String(bad));
    assert.throws(() => sleeper("x", 1, bad), ConfigurationError, String(bad));
  }
});

Deno.test("CodeAgent: each tool call from code has the time limit (hung tool attack in code)", async () => {
  const seen: AbortSignal[] = [];
  const { model } = functionModel([
    "<code>\ntry { await hang({}); } catch (error) { console.log('caught', error.message); }\nconsole.log(await quick({}));\n</code>",
    "<code>\nawait hang({});\n</code>",
    "<code>\nfinal_answer('ok');\n</code>",
  ]);
  const agent = new CodeAgent({
    model,
    tools: [hangingTool(seen), sleeper("quick", 5)],
    toolTimeoutMs: 100,
    executor: createDenoQuickJSExecutor({ timeLimitMs: 10_000 }),
  });
  const started = Date.now();
  const result = await agent.run("go", { returnFullResult: true });
  assert.ok(Date.now() - started < 8_000, "well within the sandbox's own 10 s limit");
  const [caught, failed] = actions(result.steps);
  assert.equal(caught.error, null);
  assert.match(caught.observations!, /caught hang failed: Tool 'hang' did not finish within its time limit of 100 ms/);
  assert.match(caught.observations!, /quick done/, "the code went on after the timeout");
  assert.match(
    failed.error!.message,
    /ToolError: hang failed: Tool 'hang' did not finish within its time limit of 100 ms/,
  );
  assert.ok(seen.every((signal) => signal.aborted));
  assert.equal(result.output, "ok");
});

Deno.test("toolTimeoutMs survives toJSON / fromJSON", () => {
  const { model } = functionModel([]);
  const agent = new ToolCallingAgent({ model, tools: [sleeper("quick", 1)], toolTimeoutMs: 1234 });
  const definition = agent.toJSON();
  assert.equal(definition.toolTimeoutMs, 1234);
  const rebuilt = agentFromJSON(JSON.parse(JSON.stringify(definition)), {
    tools: [sleeper("quick", 1)],
    model,
  });
  assert.equal(rebuilt.toolTimeoutMs, 1234);
  const { toolTimeoutMs: _drop, ...older } = definition;
  assert.equal(agentFromJSON(older, { tools: [sleeper("quick", 1)], model }).toolTimeoutMs, 60_000);
});
