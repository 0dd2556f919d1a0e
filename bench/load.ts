/**
 * Load test, as the operator of a busy deployment would run it: closed-loop clients over loopback against
 *   (a) the floor, a bare `Deno.serve` making one model call per request (bench/load/floor_server.ts), and
 *   (b) the real Deno entry (functions/deno.ts) with Deno KV in a file on disk,
 * both calling the same scripted model (bench/load/model_server.ts, 50 ms per reply; a run is 3 steps: two tool
 * calls, then final_answer). Each server, the model included, is its own process; this one only generates load.
 *
 *   deno run -A --unstable-kv bench/load.ts            # ~4 minutes
 *   deno run -A --unstable-kv bench/load.ts --quick    # ~1 minute, 3 s per level
 *   deno task load [--quick] [--levels=kv10,overload] [--duration=12] [--json=out.json]
 *   deno task load --workers --levels=kv10,kv50      # functions/worker.ts under wrangler dev (Durable Objects)
 *   deno task load --levels=kv50 --cpu-prof=prof     # the server's V8 CPU profile, written to prof/ at the end
 *   deno task load --kv-dir=/dev/shm                 # the KV file in memory: commits without fsync
 *   deno task load --levels=stateless50 --duration=8 --rounds=5   # 5 side-by-side rounds; goals use the median
 *
 * Levels, each measured beside the floor in the same run: 10, 50, 200 clients; overload (1,000 clients that give
 * up after 2 s and retry); model faults (50 clients, 20% of model replies 500 and 10% 429); stateless mode (50), runs
 * created with their first step (`firstStep: true`); and, not in the default set, kv50first (KV runs created with
 * their first step) and stateless50create (stateless runs created, then stepped).
 * Clients follow bench/load/retry_policy.ts: they retry the same run (same Idempotency-Key) on 409 step_in_progress,
 * 429, 499, 5xx (503 honouring Retry-After up to 2 s), their own timeouts and connection failures, and start a new
 * run only when one ends. Useful throughput = steps committed per second, seen by the clients.
 *
 * With --workers, (b) is functions/worker.ts under `wrangler dev --local` (workerd, runs in local Durable Objects);
 * RSS is then summed over wrangler's process group, storage is the state directory, and the run audit is skipped.
 *
 * The smolstep server gets every SMOLSTEP_* variable of this process's environment (admission limits, TTLs...),
 * so a setting can be measured without editing this file. Figures are only comparable within one run.
 *
 * --rounds=N (default 1) repeats the chosen levels N times, each round floor then smolstep as above, and prints
 * every round's ratio and CPU per step per level with their medians: on a shared machine one round's ratio swings,
 * so judge a goal on the median of several rounds.
 */
import { parseArgs } from "node:util";
import {
  type ClientResult,
  floorProtocol,
  kvProtocol,
  runClient,
  type RunProtocol,
  statelessProtocol,
} from "./load/client.ts";
import { type Faults, TOOL_STEPS } from "./load/model_server.ts";
import { startServer } from "./load/processes.ts";
import { DEFAULT_RETRY_POLICY } from "./load/retry_policy.ts";
import { auditRuns, type RunAudit } from "./load/run_audit.ts";
import {
  type Level,
  mb,
  type PhaseResult,
  printAudit,
  printGoals,
  printLevel,
  printRounds,
  printSummary,
} from "./load/report.ts";
import { startDenoTarget, startWorkersTarget } from "./load/targets.ts";
import { latencySummary, LevelRecorder } from "./load/stats.ts";

const LEVELS: Level[] = [
  { id: "kv10", label: "KV, 10 clients", clients: 10, mode: "kv" },
  { id: "kv50", label: "KV, 50 clients", clients: 50, mode: "kv" },
  { id: "kv200", label: "KV, 200 clients", clients: 200, mode: "kv" },
  { id: "overload", label: "KV, 1000 clients, 2 s timeout", clients: 1000, mode: "kv", timeoutMs: 2_000 },
  {
    id: "faults",
    label: "KV, 50 clients, model 20% 500 + 10% 429",
    clients: 50,
    mode: "kv",
    faults: { error500: 0.2, error429: 0.1 },
  },
  { id: "stateless50", label: "stateless, 50 clients", clients: 50, mode: "stateless", firstStep: true },
  { id: "kv50first", label: "KV, 50 clients, firstStep", clients: 50, mode: "kv", firstStep: true, onRequest: true },
  {
    id: "stateless50create",
    label: "stateless, 50 clients, no firstStep",
    clients: 50,
    mode: "stateless",
    onRequest: true,
  },
];

const AGENT = "assistant";
/** The lock TTL the Deno entry uses unless SMOLSTEP_LOCK_TTL_MS says otherwise (RunService's default). */
const DEFAULT_LOCK_TTL_MS = 5 * 60_000;
/** Clients without a level timeout still give up on one attempt after this long. */
const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;
/** When SMOLSTEP_API_KEYS is set (it is passed to the server), the clients use its first key. */
const apiKey = Deno.env.get("SMOLSTEP_API_KEYS")?.split(",")[0]?.trim();
const authorization = apiKey ? { authorization: `Bearer ${apiKey}` } : undefined;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    levels: { type: "string" },
    duration: { type: "string" },
    "model-delay-ms": { type: "string", default: "50" },
    json: { type: "string" },
    workers: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    "kv-dir": { type: "string" },
    rounds: { type: "string", default: "1" },
  },
});
const durationMs = 1000 * Number(flags.duration ?? (flags.quick ? 3 : 12));
const warmupMs = flags.quick ? 500 : 1_000;
/** After the window, clients finish the run they are on for at most this long (no new runs). */
const drainMs = flags.quick ? 3_000 : 8_000;
/** At the end, how long to wait for steps still in flight in the server to release their locks. */
const settleMs = flags.quick ? 10_000 : 30_000;
const wanted = flags.levels?.split(",").map((id) => id.trim());
const chosen = wanted ? LEVELS.filter((level) => wanted.includes(level.id)) : LEVELS.filter((l) => !l.onRequest);
if (chosen.length === 0) throw new Error(`--levels: none of ${wanted} (known: ${LEVELS.map((l) => l.id).join(", ")})`);
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a whole number >= 1, not ${flags.rounds}`);
/** The chosen levels, once per round. */
const levels = Array.from({ length: rounds }, () => chosen).flat();

const scratch = await Deno.makeTempDir({ prefix: "smolstep-load-", dir: flags["kv-dir"] });
const kvPath = `${scratch}/runs.sqlite3`;
const servers: Array<{ stop(): Promise<void> }> = [];
const interrupted = new AbortController();
Deno.addSignalListener("SIGINT", () => interrupted.abort());

try {
  const model = await startServer<{ modelUrl: string; controlUrl: string }>("model server", [
    "-A",
    new URL("./load/model_server.ts", import.meta.url).pathname,
    `--delay-ms=${flags["model-delay-ms"]}`,
  ]);
  servers.push(model.process);
  const floor = await startServer<{ url: string }>("floor server", [
    "-A",
    new URL("./load/floor_server.ts", import.meta.url).pathname,
    `--model-url=${model.ready.modelUrl}`,
  ]);
  servers.push(floor.process);
  const smolstep = flags.workers
    ? await startWorkersTarget(model.ready.modelUrl, `${scratch}/wrangler-state`)
    : await startDenoTarget(model.ready.modelUrl, kvPath, { cpuProfDir: flags["cpu-prof"] });
  servers.push(smolstep);
  const lockTtlMs = Number(Deno.env.get("SMOLSTEP_LOCK_TTL_MS")) || DEFAULT_LOCK_TTL_MS;

  console.log(
    `smolstep load test: ${chosen.length} levels${rounds > 1 ? ` x ${rounds} rounds` : ""}, ${
      durationMs / 1000
    } s each (after ${warmupMs} ms warm-up), ` +
      `model ${flags["model-delay-ms"]} ms/reply, ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}`,
  );
  console.log(
    `smolstep: ${smolstep.label}\nmodel server pid ${model.process.pid}, floor server pid ${floor.process.pid}\n`,
  );

  const results: Array<{ level: Level; floor: PhaseResult; smolstep: PhaseResult }> = [];
  const leftByTimeLimit = new Set<string>();
  for (const [i, level] of levels.entries()) {
    if (interrupted.signal.aborted) break;
    if (rounds > 1 && i % chosen.length === 0) console.log(`Round ${i / chosen.length + 1} of ${rounds}`);
    await setFaults(model.ready.controlUrl, level.faults);
    const floorResult = await measure(
      level,
      "floor",
      floor.ready.url,
      floorProtocol(TOOL_STEPS + 1),
      floor.process,
      model.process,
    );
    const smolstepResult = level.mode === "kv"
      ? await measure(level, "smolstep", smolstep.url, kvProtocol(AGENT, level), smolstep, model.process, (left) => {
        for (const run of left) leftByTimeLimit.add(run.runId);
      })
      : await measure(
        level,
        "smolstep",
        smolstep.url,
        statelessProtocol(AGENT, { firstStep: level.firstStep }),
        smolstep,
        model.process,
      );
    smolstepResult.kvBytes = await smolstep.storageBytes();
    await setFaults(model.ready.controlUrl, undefined);
    if (smolstep.runs) {
      // Right after the level: locks held by steps whose clients have gone, and runs nobody will step.
      const after = auditRuns(await smolstep.runs(), { now: Date.now(), lockTtlMs, leftByTimeLimit });
      smolstepResult.lockedAfter = after.locked;
      smolstepResult.orphanedSoFar = after.runningOrphaned;
    }
    results.push({ level, floor: floorResult, smolstep: smolstepResult });
    printLevel(level, floorResult, smolstepResult);
  }

  console.log("\nSummary (steps/s = steps committed per second seen by clients; x floor = smolstep / floor):\n");
  printSummary(results);
  if (rounds > 1) printRounds(results);
  printGoals(results);

  // Read every run back from disk. Steps whose clients have gone may still be running in the server: re-read until
  // no lock is held (or the settle time is up), and report both counts.
  const runs = smolstep.runs;
  let audit: { first: RunAudit; settled: RunAudit } | undefined;
  if (runs) {
    const read = async () => auditRuns(await runs(), { now: Date.now(), lockTtlMs, leftByTimeLimit });
    const lastLevelEnd = Date.now();
    const first = await read();
    let settled = first;
    while (settled.locked > 0 && Date.now() - lastLevelEnd < settleMs && !interrupted.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      settled = await read();
    }
    audit = { first, settled };
    printAudit(first, settled, ((Date.now() - lastLevelEnd) / 1000).toFixed(0), lockTtlMs);
  } else {
    console.log("\nRun audit: not available here (the runs live inside workerd's Durable Objects).");
  }
  console.log(
    `Run storage on disk: ${(await smolstep.storageBytes() / 1e6).toFixed(1)} MB; smolstep RSS at the end: ${
      mb(await smolstep.rss())
    } MB`,
  );
  const metrics = await scrapeMetrics(smolstep.url);
  if (metrics !== undefined) {
    console.log(`GET /metrics: ${metrics.split("\n").filter((l) => /^[a-z]/.test(l)).length} samples`);
  }
  if (flags.json) {
    await Deno.writeTextFile(
      flags.json,
      JSON.stringify(
        { date: new Date().toISOString(), target: smolstep.label, durationMs, results, audit, metrics },
        null,
        2,
      ),
    );
    console.log(`Results written to ${flags.json}`);
  }
} finally {
  for (const server of servers.reverse()) await server.stop();
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
}

/** The server's /metrics text after the run, where it has that endpoint (kept in the --json output). */
async function scrapeMetrics(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { headers: authorization });
    const text = await response.text();
    return response.ok ? text : undefined;
  } catch {
    return undefined;
  }
}

async function setFaults(controlUrl: string, faults: Faults | undefined): Promise<void> {
  const response = await fetch(`${controlUrl}/faults`, { method: "POST", body: JSON.stringify(faults ?? {}) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`model server: /faults answered ${response.status}`);
}

/** One phase: `level.clients` closed-loop clients against one server, for the warm-up, the window and the drain. */
async function measure<Run>(
  level: Level,
  target: PhaseResult["target"],
  baseUrl: string,
  protocol: RunProtocol<Run>,
  server: { rss(): Promise<number | undefined>; cpuSeconds(): Promise<number | undefined> },
  model: { cpuSeconds(): Promise<number | undefined> },
  onLeft?: (runs: Run[]) => void,
): Promise<PhaseResult> {
  const start = Date.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + durationMs;
  const recorder = new LevelRecorder(windowStart, windowEnd);
  let rssPeak: number | undefined;
  const sampling = setInterval(async () => {
    const rss = await server.rss();
    if (rss !== undefined) rssPeak = Math.max(rssPeak ?? 0, rss);
  }, 250);
  // Server CPU over the measured window: read when it opens and when it closes.
  const cpuAt = (at: number) =>
    new Promise<Array<number | undefined>>((resolve) =>
      setTimeout(
        () => Promise.all([server.cpuSeconds(), model.cpuSeconds()]).then(resolve),
        Math.max(0, at - Date.now()),
      )
    );
  const cpuWindow = Promise.all([cpuAt(windowStart), cpuAt(windowEnd)]);
  const clients: Array<Promise<ClientResult<Run>>> = [];
  for (let i = 0; i < level.clients; i++) {
    clients.push(runClient(protocol, {
      baseUrl,
      headers: target === "smolstep" ? authorization : undefined,
      recorder,
      policy: DEFAULT_RETRY_POLICY,
      timeoutMs: level.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
      newRunsUntil: windowEnd,
      stopAt: windowEnd + drainMs,
      signal: interrupted.signal,
    }));
  }
  const finished = await Promise.all(clients);
  clearInterval(sampling);
  const [[cpuStart, modelCpuStart], [cpuEnd, modelCpuEnd]] = await cpuWindow;
  const perStep = (start: number | undefined, end: number | undefined) =>
    start === undefined || end === undefined || recorder.steps === 0
      ? undefined
      : (end - start) * 1000 / recorder.steps;
  onLeft?.(finished.flatMap((result) => result.unfinished === undefined ? [] : [result.unfinished]));
  return {
    target,
    stepsPerSecond: recorder.stepsPerSecond,
    latencyMs: latencySummary(recorder.latencies),
    steps: recorder.steps,
    requests: recorder.requests,
    errors: recorder.errors.entries(),
    errorText: recorder.errors.format(),
    runsStarted: recorder.runsStarted,
    runsFinished: recorder.runsFinished,
    runsAbandoned: recorder.runsAbandoned,
    rssPeakBytes: rssPeak,
    rssEndBytes: await server.rss(),
    cpuMsPerStep: perStep(cpuStart, cpuEnd),
    modelCpuMsPerStep: perStep(modelCpuStart, modelCpuEnd),
  };
}
