import assert from "node:assert/strict";
import OpenAI from "openai";
import { ModelError } from "../../lib/errors.ts";
import {
  defaultClassify,
  RateLimiter,
  retryAfterFromHeaders,
  type RetryInfo,
  sleep,
  withRetry,
} from "../../lib/models/retry.ts";

/** An error shaped like openai's APIError. */
function httpError(status: number, headers: Record<string, string> = {}) {
  return Object.assign(new Error(`HTTP ${status}`), { status, headers: new Headers(headers) });
}

/** A function failing with the given errors, then returning "ok"; counts its calls. */
function failing(...errors: unknown[]) {
  const fn = (attempt: number) => {
    fn.attempts.push(attempt);
    const error = errors.shift();
    return error === undefined ? Promise.resolve("ok") : Promise.reject(error);
  };
  fn.attempts = [] as number[];
  return fn;
}

Deno.test("withRetry", async (t) => {
  await t.step("returns the first success without waiting", async () => {
    const fn = failing();
    const retries: RetryInfo[] = [];
    assert.equal(await withRetry(fn, { onRetry: (info) => retries.push(info) }), "ok");
    assert.deepEqual(fn.attempts, [0]);
    assert.equal(retries.length, 0);
  });

  await t.step("retries 429 and 5xx, then succeeds", async () => {
    const fn = failing(httpError(429), httpError(500), httpError(503));
    const retries: RetryInfo[] = [];
    const result = await withRetry(fn, { baseDelayMs: 1, onRetry: (info) => retries.push(info) });
    assert.equal(result, "ok");
    assert.deepEqual(fn.attempts, [0, 1, 2, 3]);
    assert.deepEqual(retries.map((r) => [r.attempt, r.status]), [[1, 429], [2, 500], [3, 503]]);
  });

  await t.step("does not retry other client errors", async () => {
    const error = httpError(400);
    const fn = failing(error);
    await assert.rejects(withRetry(fn, { baseDelayMs: 1 }), (e) => e === error);
    assert.deepEqual(fn.attempts, [0]);
  });

  await t.step("gives up after maxRetries with the last error", async () => {
    const last = httpError(502);
    const fn = failing(httpError(500), httpError(500), last, httpError(500));
    await assert.rejects(withRetry(fn, { maxRetries: 2, baseDelayMs: 1 }), (e) => e === last);
    assert.deepEqual(fn.attempts, [0, 1, 2]);
  });

  await t.step("maxRetries 0 means a single attempt", async () => {
    const fn = failing(httpError(500));
    await assert.rejects(withRetry(fn, { maxRetries: 0 }));
    assert.deepEqual(fn.attempts, [0]);
  });

  await t.step("backoff is exponential with full jitter, capped by maxDelayMs", async () => {
    const fn = failing(httpError(500), httpError(500), httpError(500), httpError(500));
    const delays: number[] = [];
    await withRetry(fn, {
      baseDelayMs: 8,
      maxDelayMs: 20,
      random: () => 0.5,
      onRetry: (info) => delays.push(info.delayMs),
    });
    // min(20, 8 * 2^n) * 0.5
    assert.deepEqual(delays, [4, 8, 10, 10]);
  });

  await t.step("honours Retry-After instead of the backoff", async () => {
    const fn = failing(httpError(429, { "retry-after": "0.05" }));
    const delays: number[] = [];
    const started = performance.now();
    await withRetry(fn, { baseDelayMs: 60_000, onRetry: (info) => delays.push(info.delayMs) });
    assert.deepEqual(delays, [50]);
    assert.ok(performance.now() - started >= 40, "waited for Retry-After");
  });

  await t.step("a Retry-After longer than maxDelayMs fails at once", async () => {
    const error = httpError(429, { "retry-after": "120" });
    const fn = failing(error);
    await assert.rejects(withRetry(fn, { maxDelayMs: 30_000 }), (e) => e === error);
    assert.deepEqual(fn.attempts, [0]);
  });

  await t.step("a custom classify decides", async () => {
    const fn = failing(new Error("flaky"), new Error("fatal"));
    const classify = (e: unknown) => ({ retryable: (e as Error).message === "flaky", retryAfterMs: 0 });
    await assert.rejects(withRetry(fn, { classify }), /fatal/);
    assert.deepEqual(fn.attempts, [0, 1]);
  });

  await t.step("aborting during a wait rejects at once with the signal's reason", async () => {
    const controller = new AbortController();
    const fn = failing(httpError(500));
    const started = performance.now();
    const run = withRetry(fn, {
      baseDelayMs: 60_000,
      random: () => 1,
      signal: controller.signal,
      onRetry: () => queueMicrotask(() => controller.abort(new Error("stop now"))),
    });
    await assert.rejects(run, /stop now/);
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual(fn.attempts, [0]);
  });

  await t.step("an already aborted signal never calls fn", async () => {
    const fn = failing();
    await assert.rejects(withRetry(fn, { signal: AbortSignal.abort() }), { name: "AbortError" });
    assert.deepEqual(fn.attempts, []);
  });

  await t.step("a failure caused by the abort is not retried", async () => {
    const controller = new AbortController();
    const fn = (attempt: number) => {
      assert.equal(attempt, 0);
      controller.abort(new Error("cancelled"));
      return Promise.reject(httpError(500));
    };
    await assert.rejects(withRetry(fn, { signal: controller.signal, baseDelayMs: 1 }), /cancelled/);
  });
});

Deno.test("defaultClassify", async (t) => {
  await t.step("HTTP statuses from duck-typed errors", () => {
    assert.deepEqual(defaultClassify(httpError(429)), { retryable: true, status: 429, retryAfterMs: undefined });
    assert.equal(defaultClassify(httpError(500)).retryable, true);
    assert.equal(defaultClassify(httpError(529)).retryable, true);
    assert.equal(defaultClassify(httpError(401)).retryable, false);
    assert.equal(defaultClassify({ statusCode: 503 }).retryable, true);
  });

  await t.step("as the openai client: 408 and 409 are retried; the server's x-should-retry decides first", () => {
    assert.equal(defaultClassify(httpError(408)).retryable, true);
    assert.equal(defaultClassify(httpError(409)).retryable, true);
    assert.equal(defaultClassify(httpError(404)).retryable, false);
    const said = (status: number, value: string) => ({ status, headers: new Headers({ "x-should-retry": value }) });
    assert.equal(defaultClassify(said(503, "false")).retryable, false);
    assert.equal(defaultClassify(said(400, "true")).retryable, true);
    assert.equal(defaultClassify({ status: 400, headers: { "x-should-retry": "true" } }).retryable, true);
    assert.equal(defaultClassify(said(503, "maybe")).retryable, true, "another value leaves it to the status");
  });

  await t.step("openai's error classes", () => {
    const headers = new Headers({ "retry-after-ms": "150" });
    const rateLimited = new OpenAI.RateLimitError(429, { message: "slow down" }, undefined, headers);
    assert.deepEqual(defaultClassify(rateLimited), { retryable: true, status: 429, retryAfterMs: 150 });
    const badRequest = new OpenAI.BadRequestError(400, { message: "bad" }, undefined, new Headers());
    assert.equal(defaultClassify(badRequest).retryable, false);
    assert.equal(defaultClassify(new OpenAI.APIConnectionError({ message: "reset" })).retryable, true);
    assert.equal(defaultClassify(new OpenAI.APIConnectionTimeoutError()).retryable, true);
    assert.equal(defaultClassify(new OpenAI.APIUserAbortError()).retryable, false);
  });

  await t.step("an explicit retryable flag wins (ModelError)", () => {
    const error = new ModelError("boom", { status: 500, retryable: false });
    assert.deepEqual(defaultClassify(error), { retryable: false, status: 500, retryAfterMs: undefined });
    assert.equal(defaultClassify(new ModelError("net", { retryable: true })).retryable, true);
  });

  await t.step("network errors and timeouts are retryable; aborts and plain errors are not", () => {
    assert.equal(defaultClassify(new TypeError("fetch failed")).retryable, true);
    assert.equal(defaultClassify(new DOMException("timed out", "TimeoutError")).retryable, true);
    assert.equal(defaultClassify(new DOMException("aborted", "AbortError")).retryable, false);
    assert.equal(defaultClassify(new Error("bug")).retryable, false);
    assert.equal(defaultClassify("string").retryable, false);
    assert.equal(defaultClassify(null).retryable, false);
  });
});

Deno.test("retryAfterFromHeaders", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.equal(retryAfterFromHeaders(new Headers({ "retry-after": "3" })), 3000);
  assert.equal(retryAfterFromHeaders({ "retry-after": "0" }), 0);
  assert.equal(retryAfterFromHeaders({ "retry-after": 2 }), 2000);
  assert.equal(retryAfterFromHeaders(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:05 GMT" }), now), 5000);
  assert.equal(retryAfterFromHeaders({ "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" }, now), 0);
  assert.equal(retryAfterFromHeaders({ "retry-after-ms": "250", "retry-after": "9" }), 250);
  assert.equal(retryAfterFromHeaders({ "retry-after": "soon" }), undefined);
  assert.equal(retryAfterFromHeaders({ "retry-after": "-1" }), undefined);
  assert.equal(retryAfterFromHeaders(new Headers()), undefined);
  assert.equal(retryAfterFromHeaders(undefined), undefined);
});

Deno.test("sleep", async (t) => {
  await t.step("resolves after the delay", async () => {
    const started = performance.now();
    await sleep(20);
    assert.ok(performance.now() - started >= 15);
  });
  await t.step("rejects when aborted, before or during the wait", async () => {
    await assert.rejects(sleep(10, AbortSignal.abort(new Error("early"))), /early/);
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort(new Error("late"));
    await assert.rejects(pending, /late/);
  });
});

Deno.test("RateLimiter", async (t) => {
  await t.step("rejects a non-positive rate", () => {
    assert.throws(() => new RateLimiter(0), RangeError);
    assert.throws(() => new RateLimiter(-5), RangeError);
  });

  await t.step("spaces calls by 60000 / requestsPerMinute", async () => {
    const limiter = new RateLimiter(1200); // one every 50 ms
    assert.equal(limiter.intervalMs, 50);
    const started = performance.now();
    await limiter.acquire();
    assert.ok(performance.now() - started < 40, "the first call does not wait");
    await limiter.acquire();
    await limiter.acquire();
    assert.ok(performance.now() - started >= 80, "the next two calls wait for their slots");
  });

  await t.step("an idle limiter lets the next call through at once", async () => {
    let now = 0;
    const limiter = new RateLimiter(60, { now: () => now }); // one per second
    await limiter.acquire();
    now += 1_000;
    await limiter.acquire(); // would hang the test (and leak a timer) if it waited
    now += 5_000;
    await limiter.acquire();
  });

  await t.step("aborting a wait rejects at once", async () => {
    let now = 0;
    const limiter = new RateLimiter(1, { now: () => now });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error("gave up"));
    await assert.rejects(waiting, /gave up/);
    now += 120_000;
    await limiter.acquire(); // free again once its slot time has passed
  });
});
