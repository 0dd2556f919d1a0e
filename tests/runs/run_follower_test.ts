/**
 * The run follower (lib/runs/run_follower.ts) over a real `RunService` (in-memory store) and the in-process
 * `DeltaChannel`; steps are real agent steps whose model waits for the test to let it answer, and deltas are
 * published on the channel as the background runner publishes them.
 */
import assert from "node:assert/strict";
import type { DeltaEvent } from "../../lib/agents/agent_events.ts";
import { ToolCallingAgent } from "../../lib/mod.ts";
import { MemoryStore } from "../../lib/server.ts";
import { DeltaChannel, type DeltaRelay } from "../../lib/runs/delta_channel.ts";
import { followRun, type RunFollowItem, type RunFollowOptions } from "../../lib/runs/run_follower.ts";
import { RunError } from "../../lib/runs/run_record.ts";
import { RunService } from "../../lib/runs/run_service.ts";
import { calculatorTool } from "../../lib/tools/calculator_tool.ts";
import { deleteFileTool } from "../support/approval_tools.ts";

/** The in-process channel, counting who listens. */
class CountedRelay implements DeltaRelay {
  readonly channel = new DeltaChannel();
  listening = 0;
  publish(runId: string, event: DeltaEvent): void {
    this.channel.publish(runId, event);
  }
  subscribe(runId: string, listener: (event: DeltaEvent) => void): () => void {
    const stop = this.channel.subscribe(runId, listener);
    this.listening++;
    let stopped = false;
    return () => {
      if (!stopped) this.listening--;
      stopped = true;
      stop();
    };
  }
}

type Call = [name: string, args: Record<string, unknown>];
const CALCULATION: Call[] = [["calculator", { expression: "6 * 7" }], ["final_answer", { answer: "42" }]];

/** An agent whose model makes `script`'s tool calls, each only when `answer()` is called. */
function gatedAgent(script: Call[] = CALCULATION) {
  const gates: Array<() => void> = [];
  let calls = 0;
  const agent = new ToolCallingAgent({
    name: "calc",
    tools: [calculatorTool, deleteFileTool()],
    model: async () => {
      const call = calls++;
      await new Promise<void>((resolve) => gates.push(resolve));
      const [name, args] = script[call];
      return {
        content: null,
        toolCalls: [{ id: `c${call}`, type: "function" as const, function: { name, arguments: args } }],
      };
    },
  });
  const answer = async () => {
    while (!gates.length) await tick();
    gates.shift()!();
  };
  return { agent, answer };
}

const tick = (ms = 2) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 2_500 && !condition(); i++) await tick();
  assert.ok(condition(), `timed out waiting for ${what}`);
}

const delta = (stepNumber: number, text: string): DeltaEvent => ({ type: "delta", agent: "calc", stepNumber, text });

function label(item: RunFollowItem): string {
  if (item.type === "delta") return `delta:${item.event.stepNumber}:${item.event.text}`;
  if (item.type === "step") return `step:${item.index}:${item.step.type}`;
  return `status:${item.state.status}`;
}

/** Follows in the background, collecting labels; `done` settles when the iteration ends (or throws). */
function collect(runs: Pick<RunService, "get">, runId: string, options: RunFollowOptions) {
  const labels: string[] = [];
  const done = (async () => {
    for await (const item of followRun(runs, runId, options)) labels.push(label(item));
  })();
  return { labels, done };
}

async function setup(options: ConstructorParameters<typeof RunService>[1] = {}, script?: Call[]) {
  const runs = new RunService(new MemoryStore(), options);
  const relay = new CountedRelay();
  const { agent, answer } = gatedAgent(script);
  const { runId } = await runs.create("calc", agent.start("6*7?"));
  /** One step, committed: `published` are its deltas (as the background runner publishes them), then `meanwhile`. */
  const step = async (published: DeltaEvent[] = [], meanwhile?: () => Promise<void>) => {
    const stepping = runs.step(runId, agent);
    for (const event of published) relay.publish(runId, event);
    await meanwhile?.();
    await answer();
    await stepping;
  };
  return { runs, relay, agent, answer, runId, step };
}

Deno.test("run follower: deltas before their step, steps in order, stale deltas dropped, stops at the end", async () => {
  const { runs, relay, runId, step } = await setup();
  const followed = collect(runs, runId, { signal: new AbortController().signal, deltas: relay, pollMs: 10 });
  await until(() => followed.labels.includes("status:running"), "the first read");
  assert.equal(relay.listening, 1, "listening from before the first read");

  await step([delta(1, "Computing")], () => until(() => followed.labels.includes("delta:1:Computing"), "the delta"));
  await until(() => followed.labels.includes("step:1:action"), "the first step");

  // Late deltas of a step already followed (a relay may deliver one after the commit) are dropped.
  relay.publish(runId, delta(1, "late"));
  relay.publish(runId, delta(0, "older"));
  await step([delta(2, "Answering")]);
  await followed.done;

  assert.deepEqual(followed.labels, [
    "step:0:task",
    "status:running",
    "delta:1:Computing",
    "step:1:action",
    "delta:2:Answering",
    "step:2:action",
    "step:3:final_answer",
    "status:succeeded",
  ]);
  assert.equal(relay.listening, 0, "the end releases the subscription");
});

Deno.test("run follower: fromIndex and afterStepNumber pick up where a caller left off", async () => {
  const { runs, relay, runId, step } = await setup();
  await step();
  const followed = collect(runs, runId, {
    signal: new AbortController().signal,
    deltas: relay,
    fromIndex: 2,
    afterStepNumber: 1,
    pollMs: 10,
  });
  relay.publish(runId, delta(1, "stale from the start"));
  await step([delta(2, "fresh")]);
  await followed.done;
  assert.deepEqual(followed.labels, [
    "status:running",
    "delta:2:fresh",
    "step:2:action",
    "step:3:final_answer",
    "status:succeeded",
  ]);
});

Deno.test("run follower: an abort ends the iteration at once and releases the subscription", async () => {
  const { runs, relay, runId } = await setup();
  const controller = new AbortController();
  // A poll far longer than the test: only the abort can end the wait.
  const followed = collect(runs, runId, { signal: controller.signal, deltas: relay, pollMs: 600_000 });
  await until(() => followed.labels.includes("status:running"), "the first read");
  assert.equal(relay.listening, 1);
  controller.abort();
  await followed.done;
  assert.equal(relay.listening, 0);
  assert.deepEqual(followed.labels, ["step:0:task", "status:running"]);
});

Deno.test("run follower: a caller that stops iterating releases the subscription", async () => {
  const { runs, relay, runId } = await setup();
  for await (const item of followRun(runs, runId, { signal: new AbortController().signal, deltas: relay })) {
    assert.equal(label(item), "step:0:task");
    assert.equal(relay.listening, 1);
    break;
  }
  assert.equal(relay.listening, 0);
});

Deno.test("run follower: a run deleted mid-follow ends it with run_not_found", async () => {
  const { runs, relay, runId } = await setup();
  const followed = collect(runs, runId, { signal: new AbortController().signal, deltas: relay, pollMs: 10 });
  await until(() => followed.labels.includes("status:running"), "the first read");
  await runs.delete(runId);
  await assert.rejects(followed.done, (error: Error) => {
    assert.ok(error instanceof RunError);
    assert.equal(error.code, "run_not_found");
    assert.match(error.message, new RegExp(`The run '${runId}' is gone`));
    return true;
  });
  assert.equal(relay.listening, 0);
});

Deno.test("run follower: a run abandoned mid-follow reads as expired, a final status, and the follow ends", async () => {
  const { runs, relay, runId } = await setup({ idleRunTtlSeconds: 0.2 });
  const followed = collect(runs, runId, { signal: new AbortController().signal, deltas: relay, pollMs: 20 });
  await followed.done;
  assert.deepEqual(followed.labels, ["step:0:task", "status:running", "status:expired"]);
  assert.equal(relay.listening, 0);
});

Deno.test("run follower: a cancelled run's status ends the follow", async () => {
  const { runs, relay, runId } = await setup();
  const followed = collect(runs, runId, { signal: new AbortController().signal, deltas: relay, pollMs: 10 });
  await until(() => followed.labels.includes("status:running"), "the first read");
  await runs.cancel(runId);
  await followed.done;
  assert.deepEqual(followed.labels, ["step:0:task", "status:running", "status:cancelled"]);
  assert.equal(relay.listening, 0);
});

Deno.test("run follower: a pause is a status, not an end; the follow goes on to the run's end", async () => {
  const script: Call[] = [["delete_file", { path: "/x" }], ["final_answer", { answer: "done" }]];
  const { runs, relay, agent, runId, step } = await setup({}, script);
  const followed = collect(runs, runId, { signal: new AbortController().signal, deltas: relay, pollMs: 10 });
  await until(() => followed.labels.includes("status:running"), "the first read");
  await step();
  await until(() => followed.labels.includes("status:awaiting_input"), "the pause");
  await runs.resume(runId, agent, { approve: true });
  await until(() => followed.labels.filter((l) => l === "status:running").length === 2, "running again");
  await step();
  await followed.done;
  assert.deepEqual(followed.labels, [
    "step:0:task",
    "status:running",
    "step:1:action",
    "status:awaiting_input",
    "status:running",
    "step:2:action",
    "step:3:final_answer",
    "status:succeeded",
  ]);
});

Deno.test("run follower: deltaFlushMs hands deltas over on the follower's own timer, in the same order", async () => {
  const { runs, relay, runId, step } = await setup();
  const options = { signal: new AbortController().signal, deltas: relay, pollMs: 200, deltaFlushMs: 5 };
  const followed = collect(runs, runId, options);
  await until(() => followed.labels.includes("status:running"), "the first read");
  await step([delta(1, "a"), delta(1, "b")], () => until(() => followed.labels.includes("delta:1:b"), "the deltas"));
  await step();
  await followed.done;
  assert.deepEqual(followed.labels, [
    "step:0:task",
    "status:running",
    "delta:1:a",
    "delta:1:b",
    "step:1:action",
    "step:2:action",
    "step:3:final_answer",
    "status:succeeded",
  ]);
});

Deno.test("run follower: reads slow down while nothing changes (slowestPollMs)", async () => {
  const { runs, relay, runId } = await setup();
  let reads = 0;
  const counted = { get: (id: string) => (reads++, runs.get(id)) };
  const controller = new AbortController();
  const steady = collect(counted, runId, { signal: controller.signal, deltas: relay, pollMs: 10 });
  await tick(400);
  const steadyReads = reads;
  controller.abort();
  await steady.done;

  reads = 0;
  const slowing = new AbortController();
  const backoff = collect(counted, runId, { signal: slowing.signal, deltas: relay, pollMs: 10, slowestPollMs: 160 });
  await tick(400);
  const backoffReads = reads;
  slowing.abort();
  await backoff.done;
  // Waits of 20, 40, 80, 160, 160 ms: 5 or 6 reads in 400 ms; a steady 10 ms poll makes several times more (fewer
  // on a loaded machine, never fewer than the slowing one's).
  assert.ok(backoffReads <= 7, `reads with backoff: ${backoffReads}`);
  assert.ok(steadyReads > backoffReads, `steady ${steadyReads}, backoff ${backoffReads}`);
});

Deno.test("run follower: quietMs reads again soon after deltas go quiet, however long the poll", async () => {
  const script: Call[] = [["calculator", { expression: "1 + 1" }], ...CALCULATION];
  const { runs, relay, runId, step } = await setup({}, script);
  const controller = new AbortController();
  // A poll far longer than the test: the first step's commit is only seen through the read that follows the
  // deltas of the next step going quiet.
  const followed = collect(runs, runId, { signal: controller.signal, deltas: relay, pollMs: 600_000, quietMs: 20 });
  await until(() => followed.labels.includes("status:running"), "the first read");
  await step();
  relay.publish(runId, delta(2, "next"));
  await until(() => followed.labels.includes("step:1:action"), "the read after the deltas went quiet");
  controller.abort();
  await followed.done;
  assert.deepEqual(followed.labels, ["step:0:task", "status:running", "delta:2:next", "step:1:action"]);
});

Deno.test("run follower: maxReads ends a follow of a run still going with follow_limit_reached, after what it read", async () => {
  const { runs, relay, runId, step } = await setup();
  let reads = 0;
  const counted = { get: (id: string) => (reads++, runs.get(id)) };
  const followed = collect(counted, runId, {
    signal: AbortSignal.timeout(2_000), // a follow that ignored the limit would end quietly here
    deltas: relay,
    pollMs: 5,
    maxReads: 3,
  });
  await assert.rejects(
    followed.done,
    (error: unknown) => error instanceof RunError && error.code === "follow_limit_reached",
  );
  assert.equal(reads, 3);
  assert.deepEqual(followed.labels, ["step:0:task", "status:running"]);
  assert.equal(relay.listening, 0, "the limit releases the subscription");

  // A read that finds the run ended is an end, even the last one allowed.
  await step();
  await step();
  reads = 0;
  const ended = collect(counted, runId, { signal: new AbortController().signal, pollMs: 5, maxReads: 1 });
  await ended.done;
  assert.equal(reads, 1);
  assert.equal(ended.labels.at(-1), "status:succeeded");
});

Deno.test("run follower: Workers' own 'Too many subrequests' on a read ends the follow as maxReads does", async () => {
  const { runs, runId } = await setup();
  let reads = 0;
  // workerd's message for a subrequest past the plan's limit (a maxReads set too high for it).
  const limited = {
    get: (id: string) => ++reads > 2 ? Promise.reject(new Error("Too many subrequests.")) : runs.get(id),
  };
  const followed = collect(limited, runId, { signal: AbortSignal.timeout(2_000), pollMs: 5 });
  await assert.rejects(
    followed.done,
    (error: unknown) => error instanceof RunError && error.code === "follow_limit_reached",
  );
  assert.deepEqual(followed.labels, ["step:0:task", "status:running"]);
});
