import type { DeltaEvent } from "../agents/agent_events.ts";
import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import { SmolstepError } from "../errors.ts";
import { isFinalStatus } from "../memory/agent_state.ts";
import { createLogger, errorFields, type Logger } from "../logging/logger.ts";
import { EgressError, type EgressPolicy, guardedFetch } from "../net/egress.ts";
import { signStandardWebhook } from "../webhooks/standard_webhooks.ts";
import type { DeltaRelay } from "./delta_channel.ts";
import type { StepObserver, StepOutcomeKind } from "./run_observer.ts";
import type { QueueMessage, RunQueue } from "./run_queue.ts";
import { CallbackMarks } from "./callback_marks.ts";
import { RunError, type RunRecord } from "./run_record.ts";
import type { RunService } from "./run_service.ts";
import { ShuttingDownError } from "./step_shutdown.ts";

export interface BackgroundOptions {
  runs: RunService;
  queue: RunQueue;
  agents: Record<string, MultiStepAgent>;
  /** Signs result callbacks (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). */
  callbackSecret?: string;
  /** Attempts per step (model failures) and per callback before giving up (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt (default 1000 ms). */
  retryDelayMs?: number;
  /** Which callback URLs may be called, checked again at each delivery (default: public https hosts only). */
  egress?: EgressPolicy;
  /**
   * How long one callback attempt may take, redirects included (default 10,000 ms): a receiver that never answers
   * must not hold the queue consumer; the attempt fails and is retried like any other failure.
   */
  callbackTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Told when each background step begins and ends (metrics). */
  steps?: StepObserver;
  /** Where the model deltas of each step go, for the run's event streams (ephemeral). */
  deltas?: DeltaRelay;
  /** Where a refused callback is reported (default: JSON on the console, `warn` and above). */
  logger?: Logger;
}

const DEFAULT_CALLBACK_TIMEOUT_MS = 10_000;
/** How long a callback attempt's claim outlives its time limit (to settle it, or give it back for a retry). */
const CALLBACK_CLAIM_MARGIN_MS = 5_000;
/** Longest delay one queue message is given: Cloudflare Queues' limit (12 h); longer waits are chained. */
export const MAX_QUEUE_DELAY_MS = 12 * 3600_000;

/**
 * Handles queue messages: steps background runs one step per message and delivers result callbacks.
 *
 * Exactly once: a step message carries the run's sequence number when it was enqueued (`seq`, the count of
 * committed steps, managed agents' included) and an id of its own; it steps only a running run still at that
 * number, under the run's lock, with the idempotency key `bg:<seq>:<id>`. A redelivered message whose step was already
 * committed (its copies and retries keep its id) re-enqueues the continuation only if nothing newer happened, so a
 * crash between commit and enqueue does not stall the run; another message for the same `seq` (one queued again by a
 * late watchdog copy while the step was retried, or a step by hand's delayed copy) finds a key not its own and stops,
 * so the run never has two chains of step messages.
 *
 * Watchdog: before stepping, a delayed copy of the message is enqueued to arrive after the lock expires. If the
 * step commits, the copy finds nothing to do; if the process died mid-step, the copy takes the expired lock and
 * runs the step. This does not depend on how (or whether) a platform redelivers a message whose consumer died.
 *
 * A failed step leaves the run at its previous step. A `SmolstepError` that is `retryable` (a model's 429 or 5xx, a
 * step past its deadline) is tried again with backoff, up to `maxAttempts`; one that is not (bad credentials, a
 * missing API key, a new record too large for the store: `state_too_large`) ends the run `failed` at once, since
 * stepping it again would call the model again for the same outcome. A step abandoned because this process stops
 * (`ShuttingDownError`, `Smolstep.shutdown`) is no failure: its message is queued again as it was, after
 * `retryDelayMs`, for the next process.
 *
 * Expiry: a background run with a callback is watched from its start by one chain of `expiry` messages, each
 * delayed until the run would go idle past `idleRunTtlSeconds` (a second past it, in hops of at most
 * {@link MAX_QUEUE_DELAY_MS}). A watch that finds the run still active (`running`, `awaiting_input`) queues the
 * next one from the run's last change; one that finds it ended (or gone) stops the chain, queueing the callback only
 * if nothing did (what ended the run failed to, and no retry came); one that finds it reading `expired` (a pause
 * nobody answered, or a running run whose step messages and watchdog copies were all lost) queues its result
 * callback, with status `expired`, unless it was queued already (a watch delivered twice), and stops.
 *
 * Callbacks are sent once and not lost to a crash (./callback_marks.ts): queueing one marks the run's callback queued,
 * a delivery that has ended (sent, refused by the egress guard, or given up after `maxAttempts`) marks it settled,
 * and a queued callback of a settled run sends nothing. Each attempt claims it first (a compare-and-set), so two
 * deliveries of a callback queued twice never send it together: the one that finds it claimed looks again once that
 * attempt has ended (`callbackTimeoutMs` and 5 s), and a failed attempt gives the claim back for its retry. Whatever
 * ended the run may have failed to queue its callback (the queue refused it, the process died first), so the retries
 * of what ends runs queue it while the run has neither mark ({@link BackgroundRunner.recoverCallback}): the step
 * message that ended the run coming back (its watchdog copy, or the platform's redelivery; whether its commit ended
 * it, or it ended the run at its `seq` with no commit: attempts given up, `state_too_large`, a cancel flag applied as
 * it began), the delayed copy a step by hand queued, a cancel of the run sent again, an answer to its input sent
 * again, and the run's expiry watch (a hop that finds the run ended: within 12 h of its end).
 *
 * Steps by hand: a client may step a background run itself (`POST /v1/runs/{id}/steps`) or answer its input. The
 * step is one more step under the run's lock (one at a time: a step in flight, the chain's or another client's, is
 * 409 `step_in_progress`), and after its commit the route queues what the runner would have ({@link continue}). The
 * chain stays single: the step message pending at the old `seq` finds the run moved on without its key and stops,
 * and the delayed copies queued before the lock ({@link watchHandStep}) act only if that follow-up was lost, or if the
 * step ended with no commit after the chain's message was given up on.
 */
export class BackgroundRunner {
  readonly #options: BackgroundOptions;
  readonly #logger: Logger;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #callbacks: CallbackMarks;

  constructor(options: BackgroundOptions) {
    this.#options = options;
    this.#callbacks = new CallbackMarks(options.runs.store, options.runs.lifecycle);
    this.#logger = options.logger ?? createLogger({ level: "warn" });
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** Enqueues the first step of a background run, and the watch on its expiry if it has a callback. */
  async start(record: RunRecord): Promise<void> {
    await this.#options.queue.enqueue(stepMessage(record.runId, record.seq));
    if (record.callbackUrl) await this.#watchExpiry(record);
  }

  /**
   * Process one message. Throws only for transient conditions the platform should redeliver later.
   *
   * Round trips: the run service's own (2 reads and 2 commits on Deno KV, see ./run_service.ts): the delivery is
   * screened (right run, right `seq`, known agent) on the record the step reads anyway, and the watchdog is queued
   * between that read and the lock.
   */
  async handle(message: QueueMessage): Promise<void> {
    if (message.type === "callback") return await this.#deliverCallback(message);
    if (message.type === "expiry") return await this.#checkExpiry(message);
    const { runs, agents, queue } = this.#options;
    let stepEnded: ((agent: string, outcome: StepOutcomeKind) => void) | undefined;
    let agentName = "";
    // Called by the service once the record is read, before anything is written.
    const screen = (record: RunRecord) => {
      const agent = Object.hasOwn(agents, record.agent) ? agents[record.agent] : undefined;
      if (!agent || record.state.status !== "running" || record.seq !== message.seq) {
        throw new DuplicateDelivery(record);
      }
      agentName = record.agent;
      stepEnded = this.#options.steps?.stepStarted("background");
      return agent;
    };
    const beforeLock = () => queue.enqueue(message, { delayMs: runs.lockTtlMs + 1000 });
    try {
      const deltas = this.#options.deltas;
      const onDelta = deltas && ((event: DeltaEvent) => deltas.publish(message.runId, event));
      const outcome = await runs.step(message.runId, screen, {
        idempotencyKey: stepKey(message),
        beforeLock,
        ...(onDelta ? { onDelta } : {}),
      }).finally(() => deltas?.flush?.(message.runId));
      stepEnded?.(agentName, outcome.replayed ? "replayed" : "ok");
      await this.continue(outcome.record);
    } catch (error) {
      if (error instanceof DuplicateDelivery) return await this.#afterDuplicate(error.record, message);
      if (error instanceof RunError && error.code === "run_not_found") return; // deleted, or expired away
      const rejected = error instanceof RunError && error.code !== "state_too_large";
      // A step this process gave back as it stopped is aborted (as a client that left), not a failure on every deploy.
      stepEnded?.(agentName, error instanceof ShuttingDownError ? "aborted" : rejected ? "rejected" : "error");
      // Not one of ours (a bug, a platform failure): the platform redelivers the message.
      if (!(error instanceof SmolstepError)) throw error;
      // This process is stopping and gave the run back unchanged: no failed attempt. The message is queued again for
      // the next process, not thrown back: a platform's redelivery of a message whose handler ended as the process
      // exited is late (Deno KV leaves it leased until its next process's sweep of stale leases, up to a minute).
      if (error instanceof ShuttingDownError) return await queue.enqueue(message, { delayMs: this.#retryDelayMs });
      if (error instanceof RunError) {
        if (error.code === "step_in_progress") throw error; // redeliver later
        if (error.code !== "state_too_large") return; // the run moved on (or went): nothing to do
        // Retrying would run the same step on the same state again (and call the model again): end the run.
        const failed = await runs.fail(message.runId, { type: "StateTooLargeError", message: error.message });
        if (failed) await this.recoverCallback(failed);
        return;
      }
      // The run is unchanged (a model failure, a step past its deadline...). What may succeed later is tried again
      // with backoff; what cannot (bad credentials, a deployer's mistake) ends the run at once.
      if (error.retryable && message.attempt < this.#maxAttempts) {
        const delayMs = this.#retryDelayMs * 2 ** (message.attempt - 1);
        await queue.enqueue({ ...message, attempt: message.attempt + 1 }, { delayMs });
        return;
      }
      const gaveUp = error.retryable ? ` (gave up after ${message.attempt} attempts)` : "";
      // `fail` answers with the run as it found it if something ended it first (a cancel, once the step let go), and
      // that queued its callback: only a callback never queued is queued (one read).
      const failed = await runs.fail(message.runId, { type: error.name, message: `${error.message}${gaveUp}` });
      if (failed) await this.recoverCallback(failed);
    }
  }

  /**
   * What follows a commit of a background run: its next step while it runs, its result callback once it has
   * ended (a pause needs nothing: the run's expiry watch covers it). The step and input routes call it after their
   * commit (a step by hand, see {@link watchHandStep}).
   */
  async continue(record: RunRecord): Promise<void> {
    const { queue } = this.#options;
    const { status } = record.state;
    if (status === "running") {
      await queue.enqueue(stepMessage(record.runId, record.seq));
    } else if (record.callbackUrl && status !== "awaiting_input") {
      await queue.enqueue({ type: "callback", runId: record.runId, attempt: 1 });
      await this.#callbacks.queued(record.runId, record.state);
    }
  }

  /**
   * Queues the result callback of an ended run unless it was queued (or settled) before: for the retry of whatever
   * ended it, which finds the run ended and cannot tell whether queueing its callback failed. One read where the run
   * has a callback, none otherwise.
   */
  async recoverCallback(record: RunRecord): Promise<void> {
    if (!record.callbackUrl || !isFinalStatus(record.state.status)) return;
    if (!(await this.#callbacks.queuedOrSettled(record.runId))) await this.continue(record);
  }

  /**
   * For a step by hand (HTTP: a step, or an answer to its input) of the background run `record`, called just before
   * its lock: queues a copy of the step message the step's commit would queue (at `seq + 1`), delayed like a
   * watchdog to arrive after the lock expires, under its own id. If the commit's own follow-up (`continue`) was lost
   * (the queue refused it, the process died), the copy steps the run on, or queues its result callback if the step
   * ended it ({@link recoverCallback}); otherwise it finds the run moved on (or not stepped) and does nothing. Its
   * own id keeps it from being taken for the message the commit queued, so it never forks the run's chain of steps.
   *
   * A running run also gets a copy of the chain's own message (at `seq`), as delayed: the chain's message that came
   * while this step held the lock was thrown back (`step_in_progress`), and a platform gives up on a message after a
   * few redeliveries (Deno KV's default schedule, a Workers consumer's `max_retries`), while a step may hold the lock
   * for minutes. If this step then ends with no commit (its model failed, its client left, its process died), that
   * copy steps the run on; if it commits, the copy finds the run moved on.
   */
  async watchHandStep(record: RunRecord): Promise<void> {
    const delayMs = this.#options.runs.lockTtlMs + 1000;
    await this.#options.queue.enqueue(stepMessage(record.runId, record.seq + 1), { delayMs });
    if (record.state.status === "running") {
      await this.#options.queue.enqueue(stepMessage(record.runId, record.seq), { delayMs });
    }
  }

  /** Queues the next look at `record` for when it would expire, unless it changes first. */
  async #watchExpiry(record: RunRecord): Promise<void> {
    const { runs, queue } = this.#options;
    const idleUntil = record.state.updatedAt + runs.lifecycle.idleRunTtlSeconds * 1000;
    // A second past it, and at least that: the lock of a step in flight may hold it `running` a little longer.
    const delayMs = Math.min(Math.max(idleUntil - Date.now() + 1000, 1000), MAX_QUEUE_DELAY_MS);
    await queue.enqueue({ type: "expiry", runId: record.runId, seq: record.seq }, { delayMs });
  }

  async #checkExpiry(message: Extract<QueueMessage, { type: "expiry" }>): Promise<void> {
    const found = await this.#options.runs.get(message.runId);
    if (!found) return; // deleted, or expired away
    const { record } = found;
    const { status } = record.state;
    if (status === "running" || status === "awaiting_input") return await this.#watchExpiry(record); // the next hop
    // Expired: its callback, once (a redelivered watch finds it queued). Ended otherwise: whatever ended it queued its
    // callback, unless that failed and no retry came (an answer to its input that was not sent again, say).
    await this.recoverCallback(record);
  }

  async #afterDuplicate(record: RunRecord, message: Extract<QueueMessage, { type: "step" }>): Promise<void> {
    const own = record.idempotency.some(([key]) => key === stepKey(message));
    const committed = own && record.seq === message.seq + 1;
    // Our step was committed and nothing came after it: the next step it queued may have been lost (the process died
    // first, or the queue refused it). Queueing it again is harmless: a step message runs only at its run's `seq`.
    if (record.state.status === "running") {
      if (committed) await this.continue(record);
      return;
    }
    // The run ended at this message: by its step's commit, or at its `seq` with no commit (its attempts given up,
    // `state_too_large`, a cancel flag applied as it began; or a cancel request). What ended it may have failed to
    // queue its callback. Anything later moved the run on, and queued what follows.
    if (committed || record.seq === message.seq) await this.recoverCallback(record);
  }

  async #deliverCallback(message: Extract<QueueMessage, { type: "callback" }>): Promise<void> {
    const { runs, queue, callbackSecret } = this.#options;
    const found = await runs.get(message.runId);
    const callbackUrl = found?.record.callbackUrl;
    if (!found || !callbackUrl) return; // gone
    const timeoutMs = this.#options.callbackTimeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
    // The attempt's time limit, and time to settle or release after it.
    const holdMs = timeoutMs + CALLBACK_CLAIM_MARGIN_MS;
    const claim = await this.#callbacks.claim(message.runId, holdMs);
    if (claim === "settled") return; // sent already (or refused, or given up)
    // Another delivery of it is sending it now: look again once that attempt has ended (sent, or released to retry).
    if (claim === "sending") return await queue.enqueue(message, { delayMs: holdMs + 1000 });
    const { record } = found;
    const body = JSON.stringify({
      runId: record.runId,
      agent: record.agent,
      status: record.state.status,
      finalAnswer: record.state.finalAnswer ?? null,
      error: record.state.error,
      tokenUsage: record.state.tokenUsage,
    });
    // Standard Webhooks headers: receivers verify with any Standard Webhooks library and dedupe retries on the id.
    const delivery = { id: `${record.runId}:result`, timestamp: Math.floor(Date.now() / 1000), body };
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      ...callbackSecret
        ? await signStandardWebhook(callbackSecret, delivery)
        : { "webhook-id": delivery.id, "webhook-timestamp": String(delivery.timestamp) },
    };
    let ok = false;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const init = { method: "POST", headers, body, signal };
      const response = await guardedFetch(callbackUrl, init, this.#options.egress, this.#options.fetch);
      await response.body?.cancel();
      ok = response.ok;
    } catch (error) {
      // A refused URL (or redirect hop) stays refused: not retried.
      if (error instanceof EgressError) {
        // The message names the refused host and why; never the URL's path or query string.
        this.#logger.warn(`callback of run ${record.runId} not sent: ${error.message}`, {
          runId: record.runId,
          error: errorFields(error),
        });
        return await this.#callbacks.settle(record.runId, record.state); // refused stays refused
      }
      ok = false;
    }
    if (!ok && message.attempt < this.#maxAttempts) {
      await this.#callbacks.release(record.runId, claim);
      await queue.enqueue({ ...message, attempt: message.attempt + 1 }, {
        delayMs: this.#retryDelayMs * 2 ** (message.attempt - 1),
      });
    } else {
      await this.#callbacks.settle(record.runId, record.state); // sent, or given up after the last attempt
    }
  }
}

/** A new step message for the run at `seq`, with an id of its own (48 random bits). */
function stepMessage(runId: string, seq: number): QueueMessage {
  return { type: "step", runId, seq, attempt: 1, id: crypto.randomUUID().replaceAll("-", "").slice(0, 12) };
}

/**
 * The idempotency key a step message steps under: one per message and its copies (watchdog, retries); `bg:<seq>` for
 * one without an id (queued by an older server).
 */
function stepKey(message: Extract<QueueMessage, { type: "step" }>): string {
  return message.id === undefined ? `bg:${message.seq}` : `bg:${message.seq}:${message.id}`;
}

/** A delivery that is not for the run as it stands (moved on, ended, unknown agent): thrown before any write. */
class DuplicateDelivery extends Error {
  constructor(readonly record: RunRecord) {
    super("duplicate delivery");
  }
}
