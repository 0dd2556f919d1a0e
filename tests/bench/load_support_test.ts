import assert from "node:assert/strict";
import { loadReply, TOOL_STEPS } from "../../bench/load/model_server.ts";
import { auditRuns } from "../../bench/load/run_audit.ts";
import { readCpuSeconds } from "../../bench/load/processes.ts";
import type { ReceivedRequest } from "../support/scripted_model_server.ts";

const request = (model: string, messages: Array<{ role: string; content: unknown }>): ReceivedRequest => ({
  method: "POST",
  url: "http://x/v1/chat/completions",
  path: "/v1/chat/completions",
  query: {},
  headers: {},
  body: { model, messages },
});

Deno.test("load model: a run is two calculator calls then final_answer; faults by share", () => {
  const none = { error500: 0, error429: 0 };
  const task = { role: "user", content: "Add." };
  const observation = { role: "tool-response", content: "Observation:\n2" };
  const names = [0, 1, 2].map((seen) => {
    const messages = [task, ...Array.from({ length: seen }, () => observation)];
    const reply = loadReply(request("scripted", messages), none, 50, 0.5);
    assert.equal(typeof reply, "object");
    return typeof reply === "object" ? reply.toolCalls?.[0].name : undefined;
  });
  assert.deepEqual(names, ["calculator", "calculator", "final_answer"]);
  assert.equal(TOOL_STEPS, 2);
  assert.deepEqual(loadReply(request("floor", [task]), none, 50, 0.5), { content: "ok", delayMs: 50 });
  const faults = { error500: 0.2, error429: 0.1 };
  assert.deepEqual(loadReply(request("floor", [task]), faults, 50, 0.1), { status: 500, delayMs: 50 });
  assert.deepEqual(loadReply(request("floor", [task]), faults, 50, 0.25), { status: 429, delayMs: 50 });
  assert.deepEqual(loadReply(request("floor", [task]), faults, 50, 0.31), { content: "ok", delayMs: 50 });
});

Deno.test("run audit: locks, stale locks, runs left by the time limit and orphans", () => {
  const now = 1_000_000;
  const running = (stepNumber: number, updatedAt = now - 1_000) => ({ status: "running", stepNumber, updatedAt });
  const audit = auditRuns([
    ["done", { state: { status: "succeeded", stepNumber: 3, updatedAt: now }, lock: null }],
    ["busy", { state: running(1), lock: { expiresAt: now + 5_000 } }],
    ["stale", { state: running(2), lock: { expiresAt: now - 1 } }],
    ["left", { state: running(1), lock: null }],
    ["orphan", { state: running(0, now - 60_000), lock: null }],
    ["given-up", { state: running(2), lock: null }],
  ], { now, lockTtlMs: 30_000, leftByTimeLimit: new Set(["left"]) });
  assert.deepEqual(audit, {
    runs: 6,
    byStatus: { succeeded: 1, running: 5 },
    locked: 1,
    staleLocks: 1,
    runningLeftByTimeLimit: 1,
    runningOrphaned: 4,
    orphanedNeverStepped: 1,
    runningIdlePastLockTtl: 1,
  });
});

Deno.test("server CPU time from /proc: grows while a process works", async () => {
  const before = await readCpuSeconds(Deno.pid);
  assert.ok(before !== undefined && before > 0, `read ${before}`);
  const until = performance.now() + 150;
  let spins = 0;
  while (performance.now() < until) spins++;
  const after = await readCpuSeconds(Deno.pid);
  assert.ok(after !== undefined && after > before, `${before} -> ${after} after ${spins} spins`);
  assert.equal(await readCpuSeconds(2 ** 22 + 12345), undefined, "no such process");
});
