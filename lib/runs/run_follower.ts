/**
 * Following a stored run as it goes, from outside the steps (they run elsewhere: a background queue consumer,
 * another request): the one follower behind the run events stream (`GET /v1/runs/{id}/events`) and the front ends
 * that wait for a background run's answer (the OpenAI-compatible endpoint, MCP `tools/call`).
 *
 * `followRun` yields, in order, the model deltas heard of the step in flight, each new step record (with its index),
 * and the run's status each time it changes; it ends after a final status (anything but `running` and
 * `awaiting_input`; a caller that cannot answer a pause stops there itself), or quietly once `signal` aborts. Its
 * rules:
 *
 * - It listens to the run's deltas (`DeltaRelay`) before the first read, so no delta between the read and the
 *   listening is missed; deltas heard before a read are yielded before the steps that read finds (their step is
 *   among them, or still to come).
 * - Stale deltas are dropped: a delta of a step the follower has already yielded (or of one before it) comes late
 *   (a relay between processes may deliver one after the step's commit), so deltas only ever precede their step.
 * - The record is read every `pollMs`; with `slowestPollMs`, less and less often (doubling) while nothing changes,
 *   back to `pollMs` as soon as a step or a delta comes; with `quietMs`, again that long after a step's deltas go
 *   quiet (its commit is then close). Each read is one store round trip (a subrequest on Workers).
 * - A run that is gone (deleted, or its record expired from the store) ends the follow with `RunError`
 *   `run_not_found`. A run abandoned for too long reads as `expired`, a final status like any other.
 * - With `maxReads`, a read that finds the run still going when it is the last one allowed ends the follow with
 *   `RunError` `follow_limit_reached` (after yielding what it found): on Workers a request may only make so many
 *   subrequests, and each face ends its request as its protocol lets the client go on. A read that fails with
 *   Workers' own "Too many subrequests" (a `maxReads` set too high for the plan) ends the follow the same way.
 * - When `signal` aborts, or the caller stops iterating, it stops listening to the deltas.
 */
import type { DeltaEvent } from "../agents/agent_events.ts";
import { type AgentState, isFinalStatus } from "../memory/agent_state.ts";
import type { StepRecord } from "../memory/step_records.ts";
import type { DeltaRelay } from "./delta_channel.ts";
import { PendingItems } from "./pending_items.ts";
import { RunError } from "./run_record.ts";
import type { RunService } from "./run_service.ts";

/** One thing the follower saw: a model delta, a new step record, or the run's new status. */
export type RunFollowItem =
  | { type: "delta"; event: DeltaEvent }
  | { type: "step"; index: number; step: StepRecord }
  | { type: "status"; state: AgentState };

export interface RunFollowOptions {
  /** Stops the follow (quietly: the iteration just ends). */
  signal: AbortSignal;
  /** Where the run's deltas are heard; without it, only step records and statuses. */
  deltas?: DeltaRelay;
  /** The index of the first step record to yield (default 0: every one). */
  fromIndex?: number;
  /** The last action step the caller already has: deltas of it or an earlier step are stale (default 0). */
  afterStepNumber?: number;
  /** How often the record is read (default 500 ms). */
  pollMs?: number;
  /** Reads slow down, doubling, to this while nothing changes (default `pollMs`: they never slow down). */
  slowestPollMs?: number;
  /** Read again this long after the last delta heard (default: only every poll). */
  quietMs?: number;
  /**
   * Deltas are taken up by the follower's own timer every `deltaFlushMs`, never woken by the relay's listener (on
   * Workers a listener may run in another request's context). Default: a delta wakes the follower at once.
   */
  deltaFlushMs?: number;
  /** At most this many reads of the record (default: no limit); then `follow_limit_reached` (see above). */
  maxReads?: number;
}

/** What ends a follow that has made its `maxReads` reads with the run still going: the run itself goes on. */
export function followLimitReached(runId: string, reads: number): RunError {
  return new RunError(
    "follow_limit_reached",
    `This request read the run '${runId}' ${reads} times, its limit (events.maxReads); the run goes on.`,
  );
}

/** Cloudflare's "Too many subrequests" (workerd's message), thrown by a read past the request's subrequest limit. */
function isSubrequestLimit(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth++) {
    if (/too many subrequests/i.test(cause.message)) return true;
  }
  return false;
}

/** Whether `error` ended a follow at its `maxReads`. */
export function isFollowLimit(error: unknown): error is RunError {
  return error instanceof RunError && error.code === "follow_limit_reached";
}

/** Follows the run `runId` in `runs` (see the module's comment). */
export async function* followRun(
  runs: Pick<RunService, "get">,
  runId: string,
  options: RunFollowOptions,
): AsyncGenerator<RunFollowItem> {
  const { signal, deltas, quietMs } = options;
  const pollMs = options.pollMs ?? 500;
  const slowestMs = Math.max(pollMs, options.slowestPollMs ?? pollMs);
  const flushMs = deltas && options.deltaFlushMs !== undefined ? options.deltaFlushMs : Infinity;
  const heard = new PendingItems<DeltaEvent>({ wakes: flushMs === Infinity });
  let followedStepNumber = options.afterStepNumber ?? 0;
  const fresh = (events: DeltaEvent[]) => events.filter((event) => event.stepNumber > followedStepNumber);
  const stopListening = deltas?.subscribe(runId, (event) => {
    if (event.stepNumber > followedStepNumber) heard.push(event);
  });
  let next = options.fromIndex ?? 0;
  let status: AgentState["status"] | undefined;
  let waitMs = pollMs;
  let reads = 0;
  try {
    while (!signal.aborted) {
      const before = fresh(heard.take());
      const found = await runs.get(runId).catch((error) => {
        // The platform's own limit met anyway (a limit set too high for the plan): the same clean end.
        throw isSubrequestLimit(error) ? followLimitReached(runId, reads) : error;
      });
      reads++;
      for (const event of before) yield { type: "delta", event };
      if (!found) throw new RunError("run_not_found", `The run '${runId}' is gone (deleted, or expired).`);
      const { state } = found.record;
      // A run that moves is read every `pollMs`; one that waits (a slow model), less and less often.
      waitMs = next < state.steps.length ? pollMs : Math.min(waitMs * 2, slowestMs);
      for (; next < state.steps.length; next++) yield { type: "step", index: next, step: state.steps[next] };
      followedStepNumber = state.stepNumber;
      if (state.status !== status) {
        status = state.status;
        yield { type: "status", state };
      }
      if (isFinalStatus(state.status)) return;
      if (options.maxReads !== undefined && reads >= options.maxReads) throw followLimitReached(runId, reads);
      const until = Date.now() + waitMs;
      let heardAt = 0;
      while (Date.now() < until && !signal.aborted) {
        // A step that streamed and went quiet is committing: read it now rather than at the next poll.
        const quietAt = heardAt && quietMs !== undefined ? heardAt + quietMs : Infinity;
        if (Date.now() >= quietAt) break;
        await heard.wait(Math.min(until, quietAt, Date.now() + flushMs) - Date.now(), signal);
        const events = fresh(heard.take());
        if (events.length) [heardAt, waitMs] = [Date.now(), pollMs];
        for (const event of events) yield { type: "delta", event };
      }
    }
  } finally {
    stopListening?.();
  }
}
