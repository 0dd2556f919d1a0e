/**
 * What the load test prints: one block per level, the summary table, the run audit and issue 10's goals. The
 * shapes of a level and of one measured phase live here too, so bench/load.ts only drives the load.
 */
import type { Faults } from "./model_server.ts";
import type { RunAudit } from "./run_audit.ts";

export interface Level {
  id: string;
  label: string;
  clients: number;
  mode: "kv" | "stateless";
  /** Runs are created with their first step (`firstStep: true`): the default in stateless mode, opt-in in KV mode. */
  firstStep?: boolean;
  /** Measured only when named in --levels (a comparison, not part of the default run). */
  onRequest?: boolean;
  /** Clients abort an attempt after this long. */
  timeoutMs?: number;
  faults?: Faults;
}

export interface PhaseResult {
  target: "floor" | "smolstep";
  stepsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number };
  steps: number;
  requests: number;
  errors: Array<[string, number]>;
  errorText: string;
  runsStarted: number;
  runsFinished: number;
  runsAbandoned: number;
  rssPeakBytes?: number;
  rssEndBytes?: number;
  /** Server CPU time (all threads) per committed step over the measured window, in ms. */
  cpuMsPerStep?: number;
  /** The model server's CPU time per committed step over the same window, in ms (it shares the machine). */
  modelCpuMsPerStep?: number;
  kvBytes?: number;
  /** Runs holding an unexpired lock right after the level (all its clients stopped). */
  lockedAfter?: number;
  /** `running` runs nobody will step, all levels so far. */
  orphanedSoFar?: number;
}

export function mb(bytes: number | undefined): string {
  return bytes === undefined ? "?" : (bytes / 1e6).toFixed(0);
}

export function cpu(msPerStep: number | undefined): string {
  return msPerStep === undefined ? "?" : msPerStep.toFixed(2);
}

export function ms(value: number): string {
  return Number.isNaN(value) ? "-" : value >= 10_000 ? value.toFixed(0) : value.toFixed(0);
}

export function printLevel(level: Level, floor: PhaseResult, smolstep: PhaseResult): void {
  const ratio = floor.stepsPerSecond > 0 ? smolstep.stepsPerSecond / floor.stepsPerSecond : NaN;
  console.log(`${level.label}: smolstep ${smolstep.stepsPerSecond.toFixed(1)} steps/s = ${ratio.toFixed(2)}x floor`);
  for (const r of [floor, smolstep]) {
    const { p50, p90, p99 } = r.latencyMs;
    console.log(
      `  ${r.target.padEnd(8)} ${r.stepsPerSecond.toFixed(1).padStart(7)} steps/s  p50/p90/p99 ${ms(p50)}/${ms(p90)}/${
        ms(p99)
      } ms  ${r.requests} requests, errors: ${r.errorText}; runs ${r.runsStarted} started, ${r.runsFinished} ended, ` +
        `${r.runsAbandoned} given up; CPU ${cpu(r.cpuMsPerStep)} ms/step (model server ${
          cpu(r.modelCpuMsPerStep)
        }); RSS peak ${mb(r.rssPeakBytes)} MB` +
        (r.kvBytes === undefined ? "" : `; KV ${(r.kvBytes / 1e6).toFixed(1)} MB`) +
        (r.lockedAfter === undefined ? "" : `; right after: ${r.lockedAfter} runs locked, `) +
        (r.orphanedSoFar === undefined ? "" : `${r.orphanedSoFar} orphaned so far`),
    );
  }
}

export function printSummary(results: Array<{ level: Level; floor: PhaseResult; smolstep: PhaseResult }>): void {
  const header = [
    "level",
    "floor st/s",
    "smolstep st/s",
    "x floor",
    "p50/p90/p99 ms",
    "errors (smolstep)",
    "CPU ms/step (floor, smolstep)",
    "RSS MB",
    "KV MB",
  ];
  const rows = results.map(({ level, floor, smolstep }) => [
    level.label,
    floor.stepsPerSecond.toFixed(0),
    smolstep.stepsPerSecond.toFixed(0),
    floor.stepsPerSecond > 0 ? (smolstep.stepsPerSecond / floor.stepsPerSecond).toFixed(2) : "-",
    `${ms(smolstep.latencyMs.p50)}/${ms(smolstep.latencyMs.p90)}/${ms(smolstep.latencyMs.p99)}`,
    smolstep.errorText,
    `${cpu(floor.cpuMsPerStep)}, ${cpu(smolstep.cpuMsPerStep)}`,
    mb(smolstep.rssPeakBytes),
    smolstep.kvBytes === undefined ? "?" : (smolstep.kvBytes / 1e6).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => "| " + cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const row of rows) console.log(line(row));
}

export function printAudit(first: RunAudit, settled: RunAudit, settleSeconds: string, lockTtlMs: number): void {
  console.log(`\nRuns in the KV file: ${settled.runs} (${JSON.stringify(settled.byStatus)})`);
  console.log(`  locked right after the last level:      ${first.locked}   (steps still in flight in the server)`);
  console.log(`  locked ${settleSeconds} s later (lock not expired):   ${settled.locked}   (expected 0)`);
  console.log(`  stale locks (expired, never released):  ${settled.staleLocks}   (expected 0)`);
  console.log(`  running, left by the time limit:        ${settled.runningLeftByTimeLimit}   (the bench stopped them)`);
  console.log(
    `  running, orphaned (nobody will step):    ${settled.runningOrphaned}   ` +
      `(${settled.orphanedNeverStepped} never stepped: creates whose client gave up)`,
  );
  console.log(`  running, idle past the lock TTL (${lockTtlMs / 1000} s):  ${settled.runningIdlePastLockTtl}`);
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function ratioOf(r: { floor: PhaseResult; smolstep: PhaseResult }): number {
  return r.floor.stepsPerSecond > 0 ? r.smolstep.stepsPerSecond / r.floor.stepsPerSecond : NaN;
}

/** With --rounds=N: per level, every round's ratio and CPU per step, and their medians (goals use the medians). */
export function printRounds(results: Array<{ level: Level; floor: PhaseResult; smolstep: PhaseResult }>): void {
  console.log("\nRounds (x floor per round, then the median; CPU ms/step floor/smolstep per round, then medians):\n");
  for (const id of new Set(results.map((r) => r.level.id))) {
    const rounds = results.filter((r) => r.level.id === id);
    const ratios = rounds.map(ratioOf);
    const floorCpu = rounds.map((r) => r.floor.cpuMsPerStep ?? NaN);
    const smolCpu = rounds.map((r) => r.smolstep.cpuMsPerStep ?? NaN);
    console.log(
      `${rounds[0].level.label}: x floor ${ratios.map((x) => x.toFixed(2)).join(", ")}; median ${
        median(ratios).toFixed(2)
      }`,
    );
    console.log(
      `  CPU ms/step ${rounds.map((_, i) => `${cpu(floorCpu[i])}/${cpu(smolCpu[i])}`).join(", ")}; median ${
        cpu(median(floorCpu))
      }/${cpu(median(smolCpu))}`,
    );
  }
}

/** Issue 10's goals, where this run measured the levels they name (with several rounds, their medians). */
export function printGoals(results: Array<{ level: Level; floor: PhaseResult; smolstep: PhaseResult }>): void {
  const of = (id: string) => results.filter((r) => r.level.id === id);
  const ratio = (id: string) => {
    const value = median(of(id).map(ratioOf));
    return Number.isNaN(value) ? undefined : value;
  };
  const stepsPerSecond = (id: string) => median(of(id).map((r) => r.smolstep.stepsPerSecond));
  const lines: string[] = [];
  const kv50 = ratio("kv50");
  if (kv50 !== undefined) lines.push(`KV at 50 clients: ${kv50.toFixed(2)}x floor (goal >= 0.5)`);
  const stateless = ratio("stateless50");
  if (stateless !== undefined) lines.push(`stateless at 50 clients: ${stateless.toFixed(2)}x floor (goal >= 0.8)`);
  const overload = stepsPerSecond("overload");
  const best = Math.max(0, ...["kv10", "kv50", "kv200"].map((id) => stepsPerSecond(id) || 0));
  if (!Number.isNaN(overload) && best > 0) {
    const share = (100 * overload / best).toFixed(0);
    lines.push(`overload: ${share}% of the best lower level's steps/s (goal >= 80%)`);
  }
  if (lines.length) console.log(`\nGoals: ${lines.join("; ")}`);
}
