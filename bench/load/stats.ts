/**
 * What a load level measures, and how it is summarised: committed steps, their latencies, and every failed attempt
 * tallied by status (and error code). Pure functions and a plain recorder, so the load script and its tests share
 * them.
 */

/** Nearest-rank percentile (`p` in [0, 100]) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return nearestRank(sorted, p);
}

/** p50 / p90 / p99 of the samples, sorting once. */
export function latencySummary(samples: readonly number[]): { p50: number; p90: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: nearestRank(sorted, 50), p90: nearestRank(sorted, 90), p99: nearestRank(sorted, 99) };
}

function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** How one HTTP attempt ended, from the client's side. */
export type AttemptOutcome =
  | { kind: "ok"; status: number }
  /** A non-2xx answer; `code` is the JSON body's `error.code` when there is one. */
  | { kind: "http"; status: number; code?: string; retryAfterSeconds?: number }
  /** The client gave up waiting (its own timeout) and aborted the request. */
  | { kind: "timeout" }
  /** No HTTP answer at all: connection refused or reset. */
  | { kind: "network"; message?: string };

/** The tally key of a failed attempt: "409 step_in_progress", "503", "timeout", "network". */
export function errorKey(outcome: AttemptOutcome): string | undefined {
  switch (outcome.kind) {
    case "ok":
      return undefined;
    case "http":
      return outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status);
    default:
      return outcome.kind;
  }
}

/** Counts of failed attempts by key. */
export class ErrorTally {
  readonly #counts = new Map<string, number>();

  /** Counts the outcome if it is a failure; returns whether it was one. */
  add(outcome: AttemptOutcome): boolean {
    const key = errorKey(outcome);
    if (key === undefined) return false;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    return true;
  }

  get total(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }

  /** Entries, most frequent first (ties by key). */
  entries(): Array<[key: string, count: number]> {
    return [...this.#counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }

  /** "409 step_in_progress: 120, timeout: 4", or "-" when nothing failed. */
  format(limit = 4): string {
    const entries = this.entries();
    if (entries.length === 0) return "-";
    const shown = entries.slice(0, limit).map(([key, count]) => `${key}: ${count}`);
    if (entries.length > limit) shown.push(`+${entries.length - limit} more`);
    return shown.join(", ");
  }
}

/**
 * What the clients of one level saw inside the measurement window: only events that end inside
 * [windowStart, windowEnd] count, so warm-up and the drain after the window stay out of the figures.
 */
export class LevelRecorder {
  /** Steps whose success reached a client in the window (each logical step once, replays included). */
  steps = 0;
  /** Per committed step: ms from its first attempt to its success, retries and backoff included. */
  readonly latencies: number[] = [];
  readonly errors = new ErrorTally();
  /** All HTTP requests sent in the window (creates and steps, successes and failures). */
  requests = 0;
  runsStarted = 0;
  runsFinished = 0;
  /** Runs a client stopped stepping before they ended (a non-retryable answer or too many attempts). */
  runsAbandoned = 0;

  constructor(readonly windowStart: number, readonly windowEnd: number) {}

  inWindow(at: number): boolean {
    return at >= this.windowStart && at <= this.windowEnd;
  }

  get windowSeconds(): number {
    return (this.windowEnd - this.windowStart) / 1000;
  }

  /** Useful throughput: committed steps per second of the window. */
  get stepsPerSecond(): number {
    return this.steps / this.windowSeconds;
  }

  attempt(outcome: AttemptOutcome, at: number): void {
    if (!this.inWindow(at)) return;
    this.requests++;
    this.errors.add(outcome);
  }

  step(latencyMs: number, at: number): void {
    if (!this.inWindow(at)) return;
    this.steps++;
    this.latencies.push(latencyMs);
  }

  run(event: "started" | "finished" | "abandoned", at: number): void {
    if (!this.inWindow(at)) return;
    if (event === "started") this.runsStarted++;
    else if (event === "finished") this.runsFinished++;
    else this.runsAbandoned++;
  }
}
