import assert from "node:assert/strict";
import { type Level, median, type PhaseResult, printGoals } from "../../bench/load/report.ts";

Deno.test("median: the middle round, or the mean of the two middle ones; rounds without a figure are left out", () => {
  assert.equal(median([0.61, 0.46, 0.72]), 0.61);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([NaN, 5, 1, 3]), 3);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("printGoals judges a level measured in several rounds on the median ratio", () => {
  const level: Level = { id: "stateless50", label: "stateless, 50 clients", clients: 50, mode: "stateless" };
  const phase = (target: PhaseResult["target"], stepsPerSecond: number): PhaseResult => ({
    target,
    stepsPerSecond,
    latencyMs: { p50: 0, p90: 0, p99: 0 },
    steps: 0,
    requests: 0,
    errors: [],
    errorText: "-",
    runsStarted: 0,
    runsFinished: 0,
    runsAbandoned: 0,
  });
  const rounds = [0.5, 0.7, 0.9, 0.95].map((ratio) => ({
    level,
    floor: phase("floor", 100),
    smolstep: phase("smolstep", 100 * ratio),
  }));
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => lines.push(line);
  try {
    printGoals(rounds);
  } finally {
    console.log = log;
  }
  assert.match(lines.join("\n"), /stateless at 50 clients: 0\.80x floor/);
});
