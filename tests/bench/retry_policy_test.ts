import assert from "node:assert/strict";
import { decideRetry, parseRetryAfter, type RetryPolicy } from "../../bench/load/retry_policy.ts";
import type { AttemptOutcome } from "../../bench/load/stats.ts";

const policy: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1_000, retryAfterCapMs: 2_000, maxAttempts: 5 };
const none = () => 0;
const most = () => 0.999_999;
const http = (status: number, code?: string, retryAfterSeconds?: number): AttemptOutcome => ({
  kind: "http",
  status,
  code,
  retryAfterSeconds,
});

Deno.test("retry decision", async (t) => {
  await t.step("success is done, 409 run_finished ends the run", () => {
    assert.deepEqual(decideRetry({ kind: "ok", status: 200 }, 1, policy), { action: "done" });
    assert.deepEqual(decideRetry(http(409, "run_finished"), 1, policy), { action: "run_ended" });
  });

  await t.step("transient answers retry the same run", () => {
    const transient: AttemptOutcome[] = [
      http(409, "step_in_progress"),
      http(409, "step_lost"),
      http(429),
      http(499, "client_closed_request"),
      http(500, "internal_error"),
      http(502, "model_error"),
      http(503, "overloaded"),
      http(504, "step_deadline"),
      { kind: "timeout" },
      { kind: "network", message: "connection reset" },
    ];
    for (const outcome of transient) {
      assert.equal(decideRetry(outcome, 1, policy, most).action, "retry", JSON.stringify(outcome));
    }
  });

  await t.step("refusals that will not change give the run up", () => {
    for (const outcome of [http(400, "invalid_request"), http(404, "run_not_found"), http(409, "token_replayed")]) {
      assert.deepEqual(decideRetry(outcome, 1, policy), { action: "give_up" }, JSON.stringify(outcome));
    }
    assert.deepEqual(decideRetry(http(401, "unauthorized"), 1, policy), { action: "give_up" });
  });

  await t.step("too many attempts give the run up", () => {
    assert.equal(decideRetry({ kind: "timeout" }, 4, policy).action, "retry");
    assert.deepEqual(decideRetry({ kind: "timeout" }, 5, policy), { action: "give_up" });
  });

  await t.step("backoff: full jitter under a ceiling that doubles, capped", () => {
    assert.deepEqual(decideRetry({ kind: "timeout" }, 1, policy, none), { action: "retry", delayMs: 0 });
    assert.deepEqual(decideRetry({ kind: "timeout" }, 1, policy, most), { action: "retry", delayMs: 100 });
    assert.deepEqual(decideRetry({ kind: "timeout" }, 3, policy, most), { action: "retry", delayMs: 400 });
    assert.deepEqual(decideRetry({ kind: "timeout" }, 4, policy, most), { action: "retry", delayMs: 800 });
    const capped = { ...policy, maxAttempts: 50 };
    assert.deepEqual(decideRetry({ kind: "timeout" }, 20, capped, most), { action: "retry", delayMs: 1_000 });
  });

  await t.step("Retry-After is honoured, capped, with a little jitter on top", () => {
    assert.deepEqual(decideRetry(http(503, "overloaded", 1), 1, policy, none), { action: "retry", delayMs: 1_000 });
    assert.deepEqual(decideRetry(http(503, "overloaded", 1), 1, policy, most), { action: "retry", delayMs: 1_100 });
    assert.deepEqual(decideRetry(http(503, "overloaded", 60), 1, policy, none), { action: "retry", delayMs: 2_000 });
    assert.deepEqual(decideRetry(http(429, undefined, 0), 3, policy, none), { action: "retry", delayMs: 0 });
  });
});

Deno.test("parseRetryAfter: seconds only", () => {
  assert.equal(parseRetryAfter("2"), 2);
  assert.equal(parseRetryAfter(" 0.5 "), 0.5);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), undefined);
  assert.equal(parseRetryAfter("-1"), undefined);
  assert.equal(parseRetryAfter(""), undefined);
});
