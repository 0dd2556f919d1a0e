/**
 * `ToolCallingAgent.run` against bare loops (the `openai` client; plain `fetch`), side by side in one run: a 10-step
 * tool-calling run (nine calculator calls, then the final answer) against the scripted model server (instant
 * replies). Each side runs in its own subprocess, so its peak RSS (VmHWM) is its own; the server runs in this
 * parent process and serves every side alike (its request log is cleared before each side). Sides alternate over
 * several rounds, each round starting with another side; the median of the rounds is reported. CPU time per step
 * (the side's process, user + system) is reported beside wall time: it moves less when other work shares the machine.
 *
 *   deno run -A bench/agent_vs_bare_loop.ts [--runs 200] [--rounds 3]
 *   deno run -A bench/agent_vs_bare_loop.ts --callgrind [--runs 5] [--rounds 3]
 *
 * `--callgrind` counts instructions instead of time: each side runs under `valgrind --tool=callgrind` (all its
 * threads: V8's compiler and GC threads too) twice, with `runs` and with `2 × runs` runs after the same 5 warm-up
 * runs; the difference, divided by `runs × 10`, is the instructions per step, start-up and warm-up cancelled. The
 * server stays outside valgrind, in this process; the four processes of a round run at once (counts do not depend on
 * the machine's load; valgrind is ~50x slower). Counts repeat within a few percent (the JIT decides a little
 * differently from one process to the next), unlike time on a shared machine; the spread of the rounds is printed.
 *
 * `--alloc` reports the bytes each side allocates per step instead: V8's sampling heap profiler (through
 * `node:inspector`, in each side's own process, objects collected since counted too) over `runs` runs after the warm-up;
 * sampled, so it moves by about 1%. The server's allocations are in the parent, outside the count.
 *
 *   deno run -A bench/agent_vs_bare_loop.ts --alloc [--runs 200]
 *
 * Peak RSS depends on when V8 doubles its young generation (new space, printed per side): it doubles once enough
 * bytes have survived scavenges since the last doubling, so the side that allocates more, or keeps more of its import
 * (module loading) alive, gets there in fewer runs. At `--runs 200` the bare loop ends just before its last doubling
 * (16 to 32 MiB) while the agent does not; at 300 and 400 runs both have doubled, and the peaks compare like for
 * like. Read the new space column before the peak RSS delta.
 *
 * Sides:
 * - `bare`: `openai` client, the same messages, tools and stop the agent sends, no library import (issue 11's
 *   measure).
 * - `fetch`: the same requests with plain `fetch` and `JSON.parse`: the least any loop can do. Since the agent's
 *   backends send with `fetch` too (no `openai` client), this is the side to read the agent's own cost against.
 * - `agent (direct)`: `ToolCallingAgent` and `OpenAIServerModel` imported from their own modules.
 * - `agent (mod.ts)`: the same, imported through `lib/mod.ts` (what a package user gets).
 */
import { calculatorRunReply } from "../tests/support/run_scenarios.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const STEPS = 10;
const WARMUP_RUNS = 20;
/** Fewer under valgrind, where each run is ~50x slower; the same for both run counts, so it cancels. */
const CALLGRIND_WARMUP_RUNS = 5;
/** The system prompt and tools a ToolCallingAgent sends, written by the parent for the bare side. */
const SHAPE_FILE = `${Deno.env.get("TMPDIR") ?? "/tmp"}/agent_vs_bare_loop_shape.json`;

type Side = "bare" | "fetch" | "direct" | "mod";
interface SideResult {
  side: Side;
  msPerStep: number;
  /** CPU time (user + system) of the side's process per step, ms: less sensitive to other load than wall time. */
  cpuMsPerStep: number;
  /** V8 heap reserved at the end, MiB. */
  heapTotalMiB: number;
  /** V8's young generation (new space) at the end, MiB: it doubles when enough bytes have survived scavenges. */
  newSpaceMiB: number;
  /** Peak resident set, MiB (VmHWM). */
  peakRssMiB: number;
  /** Resident set after the import, before any run, MiB. */
  importRssMiB: number;
  importMs: number;
}

if (Deno.args[0] === "--child") {
  const [, side, url, runs, warmup] = Deno.args;
  console.log(JSON.stringify(await child(side as Side, url, Number(runs), Number(warmup ?? WARMUP_RUNS))));
  Deno.exit(0);
}
if (Deno.args[0] === "--child-alloc") {
  const [, side, url, runs] = Deno.args;
  console.log(JSON.stringify(await childAlloc(side as Side, url, Number(runs))));
  Deno.exit(0);
}
await (Deno.args.includes("--callgrind")
  ? parentCallgrind()
  : Deno.args.includes("--alloc")
  ? parentAlloc()
  : parent());

async function parent(): Promise<void> {
  const runs = Number(flag("--runs") ?? 200);
  const rounds = Number(flag("--rounds") ?? 3);
  const reply = (request: ReceivedRequest) => calculatorRunReply(request, STEPS - 1);
  await using server = await startScriptedModelServer({ replies: reply });
  await writeAgentRequestShape(server.url);
  const sides: Side[] = ["bare", "fetch", "direct", "mod"];
  const results = new Map<Side, SideResult[]>(sides.map((side) => [side, []]));
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another side, so that no side always runs last.
    const first = round % sides.length;
    for (const side of [...sides.slice(first), ...sides.slice(0, first)]) {
      // The server records every request: forget them, so its own memory and GC cost the same for every side.
      server.reset();
      server.setHandler(reply);
      results.get(side)!.push(await spawn(side, server.url, runs));
    }
  }
  const summary = sides.map((side) => {
    const all = results.get(side)!;
    return {
      side,
      msPerStep: median(all.map((r) => r.msPerStep)),
      cpuMsPerStep: median(all.map((r) => r.cpuMsPerStep)),
      heapTotalMiB: median(all.map((r) => r.heapTotalMiB)),
      newSpaceMiB: median(all.map((r) => r.newSpaceMiB)),
      peakRssMiB: median(all.map((r) => r.peakRssMiB)),
      importRssMiB: median(all.map((r) => r.importRssMiB)),
      importMs: median(all.map((r) => r.importMs)),
    };
  });
  const [bare, plain] = summary;
  console.log(`deno ${Deno.version.deno}, ${runs} runs x ${STEPS} steps per side, median of ${rounds} rounds`);
  const columns: Array<[string, (s: SideResult) => string]> = [
    ["side", (s) => label(s.side)],
    ["ms/step", (s) => s.msPerStep.toFixed(3)],
    ["ratio", (s) => (s.msPerStep / bare.msPerStep).toFixed(2)],
    ["CPU ms/step", (s) => s.cpuMsPerStep.toFixed(3)],
    ["CPU ratio", (s) => (s.cpuMsPerStep / bare.cpuMsPerStep).toFixed(2)],
    ["vs fetch", (s) => (s.cpuMsPerStep / plain.cpuMsPerStep).toFixed(2)],
    ["peak RSS MiB", (s) => s.peakRssMiB.toFixed(1)],
    ["delta", (s) => (s.peakRssMiB - bare.peakRssMiB).toFixed(1)],
    ["RSS after import", (s) => s.importRssMiB.toFixed(1)],
    ["heap total MiB", (s) => s.heapTotalMiB.toFixed(1)],
    ["new space MiB", (s) => s.newSpaceMiB.toFixed(1)],
    ["import ms", (s) => s.importMs.toFixed(0)],
  ];
  const row = (cells: string[]) => cells.map((cell, i) => i ? cell.padStart(columns[i][0].length) : cell.padEnd(15));
  console.log(row(columns.map(([name]) => name)).join("  "));
  for (const s of summary) console.log(row(columns.map(([, cell]) => cell(s))).join("  "));
}

async function parentCallgrind(): Promise<void> {
  const runs = Number(flag("--runs") ?? 5);
  const rounds = Number(flag("--rounds") ?? 3);
  const reply = (request: ReceivedRequest) => calculatorRunReply(request, STEPS - 1);
  await using server = await startScriptedModelServer({ replies: reply });
  await writeAgentRequestShape(server.url);
  const sides: Side[] = ["bare", "direct"];
  const perStep = new Map<Side, number[]>(sides.map((side) => [side, []]));
  const instructions = async (side: Side, sideRuns: number) => {
    const command = new Deno.Command("valgrind", {
      args: [
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        Deno.execPath(),
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--child",
        side,
        server.url,
        String(sideRuns),
        String(CALLGRIND_WARMUP_RUNS),
      ],
      stdout: "null",
      stderr: "piped",
    });
    const output = await command.output();
    const log = new TextDecoder().decode(output.stderr);
    const collected = log.match(/Collected : (\d+)/)?.[1];
    if (!output.success || !collected) throw new Error(`${side} under callgrind failed:\n${log.slice(-2000)}`);
    return Number(collected);
  };
  for (let round = 0; round < rounds; round++) {
    // The server's request log is only read by tests: forget it between rounds.
    server.reset();
    server.setHandler(reply);
    const counts = await Promise.all(sides.flatMap((side) => [instructions(side, 2 * runs), instructions(side, runs)]));
    sides.forEach((side, i) => {
      perStep.get(side)!.push((counts[2 * i] - counts[2 * i + 1]) / runs / STEPS);
      console.error(`round ${round + 1} ${label(side)}: ${(perStep.get(side)!.at(-1)! / 1e6).toFixed(3)} M/step`);
    });
  }
  const bare = perStep.get("bare")!;
  const agent = perStep.get("direct")!;
  const ratios = agent.map((value, i) => value / bare[i]);
  const spread = (values: number[]) =>
    `median ${median(values)} (min ${Math.min(...values)}, max ${Math.max(...values)})`;
  const millions = (values: number[]) => values.map((value) => Number((value / 1e6).toFixed(3)));
  console.log(`deno ${Deno.version.deno}, callgrind, (${2 * runs} - ${runs}) runs x ${STEPS} steps, ${rounds} rounds`);
  console.log(`bare openai     instructions/step (M): ${spread(millions(bare))}`);
  console.log(`agent (direct)  instructions/step (M): ${spread(millions(agent))}`);
  console.log(`ratio: ${spread(ratios.map((ratio) => Number(ratio.toFixed(3))))}`);
}

async function parentAlloc(): Promise<void> {
  const runs = Number(flag("--runs") ?? 200);
  const reply = (request: ReceivedRequest) => calculatorRunReply(request, STEPS - 1);
  await using server = await startScriptedModelServer({ replies: reply });
  await writeAgentRequestShape(server.url);
  console.log(`deno ${Deno.version.deno}, sampled allocation, ${runs} runs x ${STEPS} steps per side`);
  for (const side of ["bare", "fetch", "direct", "mod"] as Side[]) {
    server.reset();
    server.setHandler(reply);
    const command = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "--child-alloc", side, server.url, String(runs)],
      stdout: "piped",
      stderr: "inherit",
    });
    const output = await command.output();
    if (!output.success) throw new Error(`${side}: child failed`);
    const { kbPerStep } = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
    console.log(`${label(side).padEnd(15)}  ${kbPerStep.toFixed(1)} KB allocated per step`);
  }
}

/** Bytes allocated per step after the warm-up, from V8's sampling heap profiler (collected objects included). */
async function childAlloc(side: Side, url: string, runs: number): Promise<{ side: Side; kbPerStep: number }> {
  const run = await loopOf(side, url);
  for (let i = 0; i < WARMUP_RUNS; i++) await run();
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (error, result) => error ? reject(error) : resolve(result as T))
    );
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < runs; i++) await run();
  type Node = { selfSize: number; children: Node[] };
  const { profile } = await post<{ profile: { head: Node } }>("HeapProfiler.stopSampling");
  const total = (node: Node): number => node.children.reduce((sum, child) => sum + total(child), node.selfSize);
  return { side, kbPerStep: total(profile.head) / runs / STEPS / 1024 };
}

function median(values: number[]): number {
  return values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
}

function label(side: Side): string {
  return { bare: "bare openai", fetch: "bare fetch", direct: "agent (direct)", mod: "agent (mod.ts)" }[side];
}

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at === -1 ? undefined : Deno.args[at + 1];
}

async function spawn(side: Side, url: string, runs: number): Promise<SideResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child", side, url, String(runs)],
    stdout: "piped",
    stderr: "inherit",
  });
  const output = await command.output();
  if (!output.success) throw new Error(`${side}: child failed`);
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!);
}

/** CPU time of this process so far (user + system), ms, from /proc/self/stat. */
function cpuMs(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident set figures from /proc/self/status, MiB. */
function rss(field: "VmHWM" | "VmRSS"): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? NaN);
  return kb / 1024;
}

async function child(side: Side, url: string, runs: number, warmup: number): Promise<SideResult> {
  const started = performance.now();
  const run = await loopOf(side, url);
  const importMs = performance.now() - started;
  const importRssMiB = rss("VmRSS");
  for (let i = 0; i < warmup; i++) await run();
  const [t0, cpu0] = [performance.now(), cpuMs()];
  for (let i = 0; i < runs; i++) await run();
  const msPerStep = (performance.now() - t0) / runs / STEPS;
  const cpuMsPerStep = (cpuMs() - cpu0) / runs / STEPS;
  const heapTotalMiB = Deno.memoryUsage().heapTotal / 2 ** 20;
  // Read before node:v8 is loaded, so that loading it cannot raise the peak.
  const peakRssMiB = rss("VmHWM");
  const { getHeapSpaceStatistics } = await import("node:v8");
  const newSpaceMiB = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")!.space_size / 2 ** 20;
  return { side, msPerStep, cpuMsPerStep, peakRssMiB, importRssMiB, importMs, heapTotalMiB, newSpaceMiB };
}

function loopOf(side: Side, url: string): Promise<() => Promise<void>> {
  if (side === "bare") return bareLoop(url);
  if (side === "fetch") return fetchLoop(url);
  return agentLoop(url, side === "mod");
}

/** A tool call as the bare loops read it from a completion. */
type BareCall = { id: string; type: "function"; function: { name: string; arguments: string } };

/**
 * A bare run: what the agent sends (system prompt, task, tools, stop), the calculator's sum as each observation, until
 * `final_answer`; `complete` sends the messages and returns the reply's tool call (the only part the two bare sides do
 * differently). The prompt and tools are plain data, so a bare side imports no library module.
 */
async function bareRun(
  complete: (body: { messages: unknown[]; tools: unknown; stop: string[] }) => Promise<BareCall>,
): Promise<() => Promise<void>> {
  const { systemPrompt, tools } = JSON.parse(await Deno.readTextFile(SHAPE_FILE));
  return async () => {
    const messages: unknown[] = [{ role: "system", content: systemPrompt }, { role: "user", content: "Count to ten." }];
    for (let step = 0; step < STEPS; step++) {
      const call = await complete({ messages, tools, stop: ["Observation:", "Calling tools:"] });
      if (call.function.name === "final_answer") {
        if (JSON.parse(call.function.arguments).answer !== "done") throw new Error("unexpected answer");
        return;
      }
      const { expression } = JSON.parse(call.function.arguments) as { expression: string };
      const [a, b] = expression.split("+").map(Number);
      messages.push({ role: "assistant", content: null, tool_calls: [call] });
      messages.push({ role: "tool", tool_call_id: call.id, content: `Observation:\n${a + b}` });
    }
    throw new Error("no final answer");
  };
}

/** One run with `fetch` alone: the bare loop's requests, sent and read with no client library. */
function fetchLoop(url: string): Promise<() => Promise<void>> {
  return bareRun(async (body) => {
    const response = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ model: "scripted", ...body }),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const completion = await response.json() as { choices: Array<{ message: { tool_calls: BareCall[] } }> };
    return completion.choices[0].message.tool_calls[0];
  });
}

/** One run with the `openai` client alone. */
async function bareLoop(url: string): Promise<() => Promise<void>> {
  const { default: OpenAI } = await import("openai");
  const client = new OpenAI({ baseURL: url, apiKey: "k", maxRetries: 0 });
  type Params = import("openai").default.ChatCompletionCreateParamsNonStreaming;
  return bareRun(async (body) => {
    const completion = await client.chat.completions.create({ model: "scripted", ...body } as Params);
    return completion.choices[0].message.tool_calls![0] as BareCall;
  });
}

async function writeAgentRequestShape(url: string): Promise<void> {
  const { ToolCallingAgent } = await import("../lib/agents/tool_calling_agent.ts");
  const { OpenAIServerModel } = await import("../lib/models/openai_server_model.ts");
  const { calculatorTool } = await import("../lib/tools/calculator_tool.ts");
  const model = new OpenAIServerModel({ modelId: "scripted", apiBase: url, apiKey: "k" });
  const agent = new ToolCallingAgent({ name: "bench", model, tools: [calculatorTool], maxSteps: 1 });
  const definitions = [...agent.tools.values()].map(({ name, description, parameters }) => ({
    name,
    description,
    parameters,
  }));
  const body = model.prepareRequest([{ role: "user", content: "x" }], { tools: definitions });
  await Deno.writeTextFile(SHAPE_FILE, JSON.stringify({ systemPrompt: agent.systemPrompt, tools: body.tools }));
}

async function agentLoop(url: string, viaMod: boolean): Promise<() => Promise<void>> {
  const { ToolCallingAgent, OpenAIServerModel, calculatorTool } = viaMod ? await import("../lib/mod.ts") : {
    ...await import("../lib/agents/tool_calling_agent.ts"),
    ...await import("../lib/models/openai_server_model.ts"),
    ...await import("../lib/tools/calculator_tool.ts"),
  };
  const model = new OpenAIServerModel({ modelId: "scripted", apiBase: url, apiKey: "k" });
  const agent = new ToolCallingAgent({ name: "bench", model, tools: [calculatorTool], maxSteps: STEPS + 2 });
  return async () => {
    const answer = await agent.run("Count to ten.");
    if (answer !== "done") throw new Error(`unexpected answer ${answer}`);
  };
}
