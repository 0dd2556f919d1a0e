import assert from "node:assert/strict";
import { errorKey, ErrorTally, latencySummary, LevelRecorder, percentile } from "../../bench/load/stats.ts";

Deno.test("percentile: nearest rank over unsorted samples", async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
  await t.step("1..100", () => {
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 90), 90);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 100), 100);
    assert.equal(percentile(hundred, 0), 1);
  });
  await t.step("small samples round the rank up", () => {
    assert.equal(percentile([30, 10, 20], 50), 20);
    assert.equal(percentile([30, 10, 20], 99), 30);
    assert.equal(percentile([7], 1), 7);
    assert.equal(percentile([10, 20, 30, 40], 50), 20);
    assert.equal(percentile([10, 20, 30, 40], 51), 30);
  });
  await t.step("no samples is NaN, a p outside [0, 100] throws", () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], -1), RangeError);
  });
  await t.step("latencySummary agrees with percentile and leaves the input alone", () => {
    const samples = [5, 1, 4, 2, 3];
    assert.deepEqual(latencySummary(samples), { p50: 3, p90: 5, p99: 5 });
    assert.deepEqual(samples, [5, 1, 4, 2, 3]);
    const summary = latencySummary([]);
    assert.ok(Number.isNaN(summary.p50) && Number.isNaN(summary.p99));
  });
});

Deno.test("error tally: keys by status and code, most frequent first", async (t) => {
  await t.step("keys", () => {
    assert.equal(errorKey({ kind: "ok", status: 200 }), undefined);
    assert.equal(errorKey({ kind: "http", status: 409, code: "step_in_progress" }), "409 step_in_progress");
    assert.equal(errorKey({ kind: "http", status: 503, retryAfterSeconds: 1 }), "503");
    assert.equal(errorKey({ kind: "timeout" }), "timeout");
    assert.equal(errorKey({ kind: "network", message: "reset" }), "network");
  });
  await t.step("counts failures only", () => {
    const tally = new ErrorTally();
    assert.equal(tally.add({ kind: "ok", status: 200 }), false);
    assert.equal(tally.add({ kind: "timeout" }), true);
    tally.add({ kind: "http", status: 503 });
    tally.add({ kind: "http", status: 503 });
    tally.add({ kind: "http", status: 409, code: "step_in_progress" });
    tally.add({ kind: "http", status: 502, code: "model_error" });
    assert.equal(tally.total, 5);
    assert.deepEqual(tally.entries(), [["503", 2], ["409 step_in_progress", 1], ["502 model_error", 1], [
      "timeout",
      1,
    ]]);
    assert.equal(tally.format(2), "503: 2, 409 step_in_progress: 1, +2 more");
    assert.equal(new ErrorTally().format(), "-");
  });
});

Deno.test("level recorder: only what ends inside the window counts", () => {
  const recorder = new LevelRecorder(1_000, 3_000);
  recorder.step(40, 999); // warm-up
  recorder.step(50, 1_000);
  recorder.step(70, 3_000);
  recorder.step(90, 3_001); // drain
  recorder.attempt({ kind: "timeout" }, 500);
  recorder.attempt({ kind: "timeout" }, 2_000);
  recorder.attempt({ kind: "ok", status: 200 }, 2_000);
  recorder.run("started", 1_500);
  recorder.run("finished", 2_500);
  recorder.run("abandoned", 2_600);
  recorder.run("finished", 4_000);
  assert.equal(recorder.steps, 2);
  assert.deepEqual(recorder.latencies, [50, 70]);
  assert.equal(recorder.stepsPerSecond, 1);
  assert.equal(recorder.requests, 2);
  assert.deepEqual(recorder.errors.entries(), [["timeout", 1]]);
  assert.deepEqual([recorder.runsStarted, recorder.runsFinished, recorder.runsAbandoned], [1, 1, 1]);
});
