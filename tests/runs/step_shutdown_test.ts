import assert from "node:assert/strict";
import { withStepDeadline } from "../../lib/runs/step_deadline.ts";
import { ShuttingDownError, StepShutdown } from "../../lib/runs/step_shutdown.ts";

/** A step that waits for its signal, then takes `releaseMs` to give its run back (as a lock's restore write does). */
function abortableStep(log: string[], releaseMs: number) {
  return async (signal: AbortSignal) => {
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    await new Promise((resolve) => setTimeout(resolve, releaseMs));
    log.push("released");
    throw signal.reason;
  };
}

Deno.test("StepShutdown: aborts the steps in flight with ShuttingDownError and resolves once they have let go", async () => {
  const shutdown = new StepShutdown();
  const log: string[] = [];
  const steps = [1, 2, 3].map(() => withStepDeadline(60_000, undefined, abortableStep(log, 30), shutdown));
  assert.equal(shutdown.inFlight, 3);
  const settled = Promise.allSettled(steps);
  await shutdown.shutdown();
  log.push("resolved");
  assert.deepEqual(log, ["released", "released", "released", "resolved"]);
  for (const step of await settled) {
    assert.ok(step.status === "rejected" && step.reason instanceof ShuttingDownError);
  }
  assert.equal(shutdown.inFlight, 0);
  // A step that starts afterwards is aborted before it runs anything.
  const late = withStepDeadline(60_000, undefined, (signal) => Promise.resolve(signal.reason), shutdown);
  assert.ok(await late instanceof ShuttingDownError);
});

Deno.test("StepShutdown: a step nested in a step's deadline is counted once, and aborted through the outer one", async () => {
  const shutdown = new StepShutdown();
  const log: string[] = [];
  const outer = withStepDeadline(60_000, undefined, (signal) => {
    assert.equal(shutdown.inFlight, 1);
    return withStepDeadline(60_000, signal, (inner) => {
      assert.equal(inner, signal, "the route's deadline is used as is");
      assert.equal(shutdown.inFlight, 1);
      return abortableStep(log, 0)(inner);
    }, shutdown);
  }, shutdown);
  const rejected = assert.rejects(outer, ShuttingDownError);
  await new Promise((resolve) => setTimeout(resolve, 0));
  await shutdown.shutdown();
  await rejected;
  assert.deepEqual(log, ["released"]);
});

Deno.test("StepShutdown: the grace lets a step that ends in time finish, unaborted", async () => {
  const shutdown = new StepShutdown();
  const step = withStepDeadline(60_000, undefined, async (signal) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return signal.aborted ? "aborted" : "finished";
  }, shutdown);
  await shutdown.shutdown(60_000);
  assert.equal(await step, "finished");
  assert.equal(shutdown.inFlight, 0);
});
