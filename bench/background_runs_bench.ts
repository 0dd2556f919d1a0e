/**
 * Background runs under load: how many agent steps per second one Deno process sustains when many background runs
 * are in flight at once, what each in-flight run costs in memory, and how many state bytes each step adds.
 *
 *   deno run -A --unstable-kv --v8-flags=--expose-gc bench/background_runs_bench.ts [options]
 *
 *   --runs 200          background runs started at once
 *   --steps 10          action steps per run (steps - 1 calculator calls, then final_answer)
 *   --latency 50        ms the scripted model waits before each reply
 *   --queue both        deno-kv | in-process | both (both: one fresh child process per measurement)
 *   --repeat 1          measure each set-up this many times (fresh child processes; prints a table with medians)
 *   --timeout 300       seconds; a measurement that takes longer aborts with a message (exit code 2)
 *   --warmup 5          runs stepped to completion before the memory baseline (not measured)
 *   --kv-dir <dir>      where the Deno KV SQLite file is made (default: the system temp dir; /dev/shm = no fsync)
 *   --lock-ttl-ms <ms>  run lock TTL (default: timeout + 60 s, so no watchdog copy fires during a measurement)
 *   --live-heap         force a full GC every 400 ms during the runs (needs --expose-gc) and report the live heap
 *                       per in-flight handler; this perturbs the throughput figures a little
 *
 * `--v8-flags=--expose-gc` lets the bench collect garbage before the memory baseline; without it the baseline
 * holds whatever garbage the warm-up left.
 *
 * Set-up: the example `assistant` agent (functions/agents.ts) talks to the scripted OpenAI-compatible model server
 * (tests/support/scripted_model_server.ts), run in a child Deno process (this file with `--serve-model`) so that
 * its CPU, and the request log it keeps, are not charged to the process under test. The runs are created at once
 * with `POST /v1/agents/assistant/runs {"background": true}` through `app.fetch`; the queue then steps them, one
 * step per message, until every run has ended. A run counts as ended when the store sees its record written with a
 * final status (the wrappers below only time and count calls; every call reaches the real store and queue). Two
 * set-ups:
 *
 * - `deno-kv`: DenoKvStore + DenoKvQueue on a fresh SQLite file (what functions/deno.ts runs with a local KV);
 * - `in-process`: MemoryStore + InProcessQueue: no storage or queue cost, the framework's own ceiling.
 *
 * The step latencies come from the step records' own timings (Date.now(), so 1 ms resolution).
 */
import process from "node:process";
import { createAgents } from "../functions/agents.ts";
import type { ActionStep, PutOptions, PutResult, StateStore, StoredValue } from "../lib/mod.ts";
import { createSmolstep, InProcessQueue, MemoryStore, type QueueMessage, type RunQueue } from "../lib/server.ts";
import type { RunRecord } from "../lib/runs/run_record.ts";
import { DenoKvQueue } from "../lib/adapters/deno/deno_kv_queue.ts";
import { DenoKvStore } from "../lib/adapters/deno/deno_kv_store.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

type Mode = "deno-kv" | "in-process";

interface Options {
  runs: number;
  steps: number;
  latencyMs: number;
  queue: Mode | "both";
  repeat: number;
  timeoutS: number;
  lockTtlMs: number;
  warmup: number;
  resultFile?: string;
  /** Where the Deno KV SQLite file goes (a fresh directory is made inside; default: the system temp dir). */
  kvDir?: string;
  serveModel: boolean;
  /** Force a full GC every 400 ms during the runs to measure the live heap per in-flight handler. */
  liveHeap: boolean;
}

const encoder = new TextEncoder();
const gc = (globalThis as { gc?: () => void }).gc;

// ---------------------------------------------------------------------------------------------------------------
// Arguments

function parseOptions(args: string[]): Options {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split("=", 2);
    if (name === "serve-model" || name === "live-heap") {
      flags.add(name);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    values.set(name, value);
  }
  const known = [
    "runs",
    "steps",
    "latency",
    "queue",
    "repeat",
    "timeout",
    "lock-ttl-ms",
    "warmup",
    "result-file",
    "kv-dir",
  ];
  for (const name of values.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}`);
  const int = (name: string, fallback: number, min: number) => {
    const raw = values.get(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return value;
  };
  const queue = values.get("queue") ?? "both";
  if (queue !== "both" && queue !== "deno-kv" && queue !== "in-process") {
    throw new Error("--queue must be deno-kv, in-process or both");
  }
  const timeoutS = int("timeout", 300, 1);
  return {
    runs: int("runs", 200, 1),
    steps: int("steps", 10, 1),
    latencyMs: int("latency", 50, 0),
    queue,
    repeat: int("repeat", 1, 1),
    timeoutS,
    lockTtlMs: int("lock-ttl-ms", (timeoutS + 60) * 1000, 1000),
    warmup: int("warmup", 5, 0),
    resultFile: values.get("result-file"),
    kvDir: values.get("kv-dir"),
    serveModel: flags.has("serve-model"),
    liveHeap: flags.has("live-heap"),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Scripted model server (child process role: `--serve-model`)

/** Calculator calls until `steps - 1` steps are done, then final_answer; decided from the assistant turns so far. */
function scriptedReply(steps: number, latencyMs: number) {
  return (request: ReceivedRequest) => {
    const done = (request.body.messages ?? []).filter((m) => m.role === "assistant").length;
    const call = done < steps - 1
      ? { name: "calculator", arguments: { expression: `${done} + 1` } }
      : { name: "final_answer", arguments: { answer: "done" } };
    return { toolCalls: [call], delayMs: latencyMs };
  };
}

/** Serves until stdin closes (the parent exited or is done), then prints how many completions it served. */
async function serveModel(options: Options): Promise<void> {
  let served = 0;
  const reply = scriptedReply(options.steps, options.latencyMs);
  const server = await startScriptedModelServer({
    replies: (request) => {
      served++;
      server.requests.length = 0; // the server logs every request; nobody reads the log here
      return reply(request);
    },
  });
  console.log(JSON.stringify({ url: server.url }));
  for await (const _ of Deno.stdin.readable) {
    // Nothing is sent on stdin: it only tells when to stop.
  }
  await server.close();
  console.log(JSON.stringify({ served }));
}

interface ModelProcess {
  url: string;
  close(): Promise<number>;
}

async function spawnModelServer(options: Options): Promise<ModelProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      import.meta.filename!,
      "--serve-model",
      "--steps",
      String(options.steps),
      "--latency",
      String(options.latencyMs),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextLine = async (): Promise<string> => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("scripted model server process ended early");
      buffer += value;
    }
    const at = buffer.indexOf("\n");
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    return line;
  };
  const { url } = JSON.parse(await nextLine()) as { url: string };
  return {
    url,
    close: async () => {
      await child.stdin.close();
      const { served } = JSON.parse(await nextLine()) as { served: number };
      while (!(await lines.read()).done) {
        // Drain to the end so the pipe closes.
      }
      await child.status;
      return served;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Metering wrappers (they only count; every call goes through unchanged)

const messageKey = (m: QueueMessage) =>
  `${m.type}:${m.runId}:${m.type === "callback" ? "-" : m.seq}:${m.type === "expiry" ? "-" : m.attempt}`;

/** Records when each immediate message was enqueued, so its delivery can be timed, and how long enqueue takes. */
class MeteredQueue implements RunQueue {
  readonly enqueuedAt = new Map<string, number>();
  enqueueMs: number[] = [];
  delayed = 0;

  constructor(readonly inner: RunQueue) {}

  reset(): void {
    this.enqueueMs = [];
    this.delayed = 0;
  }

  async enqueue(message: QueueMessage, options: { delayMs?: number } = {}): Promise<void> {
    const start = performance.now();
    if ((options.delayMs ?? 0) > 0) this.delayed++;
    else this.enqueuedAt.set(messageKey(message), start);
    await this.inner.enqueue(message, options);
    this.enqueueMs.push(performance.now() - start);
  }
}

/** Times reads and writes, and notices a run record written with a status other than running. */
/**
 * Whether a run record's state has left "running". The record also keeps, in its idempotency entries, the status each
 * step left the run in (`"status":"running"` in every record but the last), so the state's own status is read, and only
 * from records that hold some other status at all (the string test spares a parse per write).
 */
function ended(record: string): boolean {
  return /"status":"(?!running")/.test(record) && (JSON.parse(record) as RunRecord).state.status !== "running";
}

class MeteredStore implements StateStore {
  getMs: number[] = [];
  putMs: number[] = [];
  /** UTF-16 code units written; the JSON here is ASCII, so this is also its UTF-8 byte count. */
  putChars = 0;

  constructor(readonly inner: StateStore, readonly onRunEnded: (runId: string) => void) {}

  get atomic(): boolean {
    return this.inner.atomic;
  }

  get maxValueBytes(): number {
    return this.inner.maxValueBytes;
  }

  reset(): void {
    this.getMs = [];
    this.putMs = [];
    this.putChars = 0;
  }

  async get(key: string): Promise<StoredValue | null> {
    const start = performance.now();
    const value = await this.inner.get(key);
    this.getMs.push(performance.now() - start);
    return value;
  }

  async getMany(keys: string[]): Promise<(StoredValue | null)[]> {
    const start = performance.now();
    const values = await this.inner.getMany(keys);
    this.getMs.push(performance.now() - start);
    return values;
  }

  async put(key: string, value: string, options?: PutOptions): Promise<PutResult> {
    const start = performance.now();
    this.putChars += value.length;
    const result = await this.inner.put(key, value, options);
    this.putMs.push(performance.now() - start);
    if (result.ok && key.startsWith("runs/") && key.indexOf("/", 5) < 0 && ended(value)) this.onRunEnded(key.slice(5));
    return result;
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    mean,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.at(-1) ?? NaN,
  };
}

const MiB = 1024 * 1024;
const fmt = (value: number, digits = 1) => Number.isFinite(value) ? value.toFixed(digits) : "n/a";
const fmtSummary = (s: Summary, unit = "ms") => `p50 ${fmt(s.p50)} / p95 ${fmt(s.p95)} / max ${fmt(s.max)} ${unit}`;

// ---------------------------------------------------------------------------------------------------------------
// One measurement

interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

interface Result {
  mode: Mode;
  /** Where the Deno KV file was (deno-kv with --kv-dir only). */
  kvDir?: string;
  /** Which repetition (orchestrated runs only). */
  round?: number;
  runs: number;
  stepsPerRun: number;
  latencyMs: number;
  gc: boolean;
  statuses: Record<string, number>;
  actionSteps: number;
  createMs: number;
  wallMs: number;
  stepsPerSecond: number;
  /** Steps per second between the 10th and 90th percentile of step completions (no ramp-up or drain). */
  sustainedStepsPerSecond: number;
  cpuMs: number;
  cpuMsPerStep: number;
  /** Cores used over the wall time by the main (JS) thread, Deno KV's SQLite thread(s), the rest (Linux only). */
  threadCores?: { main: number; sqlite: number; others: number };
  eventLoopLag: Summary;
  /** Share of the wall time in which some task on the machine waited for CPU / for I/O (Linux PSI). */
  cpuPressure?: number;
  ioPressure?: number;
  /** 1-minute load average when the measured runs started. */
  loadAverage: number;
  /** agent.step as recorded in the state: model call + tool + bookkeeping. */
  stepDuration: Summary;
  /** From one step's start to the next step's start, within a run. */
  stepCycle: Summary;
  /** From one step's end to the next step's start: commit, enqueue, queue delivery, read, lock. */
  stepGap: Summary;
  /** From run creation to its first step's start. */
  firstStepDelay: Summary;
  /** Enqueue call to handler start, immediate messages only. */
  queueWait: Summary;
  /** One queue message, handler start to end. */
  handlerTime: Summary;
  peakConcurrentHandlers: number;
  deliveries: number;
  expectedDeliveries: number;
  handlerErrors: number;
  delayedEnqueues: number;
  storeGetsPerStep: number;
  storePutsPerStep: number;
  /** Latency of one store read, one compare-and-set write, one immediate or delayed enqueue (as awaited). */
  storeGet: Summary;
  storePut: Summary;
  enqueue: Summary;
  baseline: MemorySample;
  peak: MemorySample;
  after: MemorySample;
  rssPerRunKiB: number;
  /** With --live-heap: (heap after a forced GC - baseline) / handlers in flight, at the sample with most handlers. */
  liveHeapPerHandlerKiB?: number;
  liveHeapHandlers?: number;
  heapPerRunKiB: number;
  externalPerRunKiB: number;
  recordBytes: Summary;
  recordBytesPerStep: number;
  actionStepBytes: Summary;
  recordBytesWithoutSteps: number;
  bytesWrittenPerRun: number;
  kvFileBytes?: number;
  modelCallsServed: number;
}

function memory(): MemorySample {
  const { rss, heapUsed, external } = Deno.memoryUsage();
  return { rss, heapUsed, external };
}

function collectGarbage(): void {
  if (!gc) return;
  gc();
  gc();
}

/**
 * CPU ticks of the main thread (the JS event loop), of Deno KV's SQLite worker threads (named `sw-N`) and of all
 * other threads (V8 helpers, the I/O runtime), from /proc; null where there is no /proc.
 */
function threadTicks(): { main: number; sqlite: number; others: number } | null {
  try {
    const ticks = { main: 0, sqlite: 0, others: 0 };
    for (const task of Deno.readDirSync("/proc/self/task")) {
      const stat = Deno.readTextFileSync(`/proc/self/task/${task.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const used = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (task.name === String(Deno.pid)) ticks.main += used;
      else if (/^sw-\d+$/.test(name)) ticks.sqlite += used;
      else ticks.others += used;
    }
    return ticks;
  } catch {
    return null;
  }
}

/** Microseconds that some task waited for CPU and for I/O, machine-wide (Linux pressure stall info), or null. */
function pressure(): { cpu: number; io: number } | null {
  try {
    const some = (file: string) => Number(/^some .*total=(\d+)/m.exec(Deno.readTextFileSync(file))![1]);
    return { cpu: some("/proc/pressure/cpu"), io: some("/proc/pressure/io") };
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc's utime/stime (USER_HZ; 100 on Linux). */
const USER_HZ = 100;

async function measure(mode: Mode, options: Options): Promise<Result> {
  const { runs, steps } = options;
  let phase = "starting the scripted model server";
  let progress = () => phase;
  let tempDir: string | undefined;
  const abort = setTimeout(() => {
    console.error(
      `background_runs_bench: ABORTED (${mode}) after ${options.timeoutS} s (--timeout) while ${progress()}`,
    );
    if (tempDir) Deno.removeSync(tempDir, { recursive: true });
    Deno.exit(2);
  }, options.timeoutS * 1000);

  const model = await spawnModelServer(options);
  const agents = createAgents({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "bench" });

  // When each run's record was first written with a final status; `remaining` holds the awaited runs not yet ended.
  const endedAt = new Map<string, number>();
  let remaining = new Set<string>();
  let allEnded = Promise.withResolvers<void>();
  const onRunEnded = (runId: string) => {
    if (endedAt.has(runId)) return;
    endedAt.set(runId, performance.now());
    if (remaining.delete(runId) && remaining.size === 0) allEnded.resolve();
  };
  /** Resolves when every run in `ids` has ended (some may have ended before their creation answered). */
  const awaitRuns = (ids: string[]) => {
    allEnded = Promise.withResolvers<void>();
    remaining = new Set(ids.filter((id) => !endedAt.has(id)));
    if (remaining.size === 0) allEnded.resolve();
    return allEnded.promise;
  };

  let rawStore: StateStore;
  let rawQueue: RunQueue;
  let listen: (handler: (message: QueueMessage) => Promise<void>) => void;
  let stopQueue: () => Promise<void>;
  if (mode === "in-process") {
    const queue = new InProcessQueue();
    rawStore = new MemoryStore();
    rawQueue = queue;
    listen = (handler) => queue.listen(handler);
    stopQueue = async () => {
      queue.close(); // drops the scheduled watchdog copies
      await queue.idle();
    };
  } else {
    tempDir = await Deno.makeTempDir({ prefix: "smolstep-bench-", dir: options.kvDir });
    const openedKv = await Deno.openKv(`${tempDir}/runs.sqlite3`);
    const queue = new DenoKvQueue(openedKv);
    rawStore = new DenoKvStore(openedKv);
    rawQueue = queue;
    let listening: Promise<void> = Promise.resolve();
    listen = (handler) => void (listening = queue.listen(handler));
    stopQueue = async () => {
      openedKv.close(); // ends listenQueue; the pending watchdog copies stay in the file, which is deleted
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([listening, new Promise((done) => timer = setTimeout(done, 5000))]);
      clearTimeout(timer);
    };
  }
  const store = new MeteredStore(rawStore, onRunEnded);
  const queue = new MeteredQueue(rawQueue);
  const smolstep = createSmolstep({ agents, store, queue, lockTtlMs: options.lockTtlMs });

  let inFlight = 0;
  let peakInFlight = 0;
  let deliveries = 0;
  let handlerErrors = 0;
  let queueWaits: number[] = [];
  let handlerTimes: number[] = [];
  listen(async (message) => {
    const start = performance.now();
    const key = messageKey(message);
    const enqueued = queue.enqueuedAt.get(key);
    if (enqueued !== undefined) {
      queue.enqueuedAt.delete(key);
      queueWaits.push(start - enqueued);
    }
    deliveries++;
    peakInFlight = Math.max(peakInFlight, ++inFlight);
    try {
      await smolstep.handleQueueMessage(message);
    } catch (error) {
      handlerErrors++;
      throw error;
    } finally {
      inFlight--;
      handlerTimes.push(performance.now() - start);
    }
  });

  const startRuns = async (count: number): Promise<string[]> => {
    const created = await Promise.all(Array.from({ length: count }, async (_, i) => {
      const response = await smolstep.app.fetch(
        new Request("http://bench.local/v1/agents/assistant/runs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            task: `Count from 0 to ${steps - 1}, one step at a time (run ${i}).`,
            maxSteps: steps,
            background: true,
          }),
        }),
      );
      const body = await response.json();
      if (response.status !== 201) throw new Error(`run creation failed: ${response.status} ${JSON.stringify(body)}`);
      return body.runId as string;
    }));
    return created;
  };

  // Warm-up: JIT, model server connections, lazily loaded client code. Not measured.
  if (options.warmup > 0) {
    phase = "warming up";
    await awaitRuns(await startRuns(options.warmup));
  }

  collectGarbage();
  await new Promise((done) => setTimeout(done, 200));
  collectGarbage();
  const baseline = memory();
  const peak = { ...baseline };
  const sample = () => {
    const now = memory();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
    peak.external = Math.max(peak.external, now.external);
  };
  const sampler = setInterval(sample, 50);
  // Live heap while handlers are in flight: a full GC, then heapUsed, at most 8 times.
  const liveSamples: Array<{ heapUsed: number; handlers: number }> = [];
  const liveTimer = options.liveHeap && gc
    ? setInterval(() => {
      if (liveSamples.length >= 8 || inFlight === 0) return;
      const handlers = inFlight;
      gc();
      liveSamples.push({ heapUsed: Deno.memoryUsage().heapUsed, handlers });
    }, 400)
    : undefined;
  // Event-loop lag: how late a 20 ms timer fires. Large values mean the JS thread is saturated.
  const lags: number[] = [];
  let expected = performance.now() + 20;
  const lagTimer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + 20;
  }, 20);

  // Counters for the measured phase only.
  store.reset();
  queue.reset();
  deliveries = 0;
  handlerErrors = 0;
  peakInFlight = 0;
  queueWaits = [];
  handlerTimes = [];

  phase = `creating ${runs} runs`;
  const cpuStart = process.cpuUsage();
  const ticksStart = threadTicks();
  const pressureStart = pressure();
  const [load1] = (() => {
    try {
      return Deno.readTextFileSync("/proc/loadavg").split(" ").map(Number);
    } catch {
      return [NaN];
    }
  })();
  const t0 = performance.now();
  const runIds = await startRuns(runs);
  const createMs = performance.now() - t0;
  const ended = awaitRuns(runIds);
  progress = () =>
    `running: ${runs - remaining.size}/${runs} runs ended, ${deliveries} queue deliveries, ` +
    `${inFlight} handlers in flight, ${fmt((performance.now() - t0) / 1000)} s elapsed`;
  const ticker = setInterval(() => console.error(`  [${mode}] ${progress()}`), 5000);
  await ended;
  const t1 = Math.max(...runIds.map((id) => endedAt.get(id)!));
  const cpu = process.cpuUsage(cpuStart);
  const ticksEnd = threadTicks();
  const pressureEnd = pressure();
  clearInterval(lagTimer);
  clearInterval(ticker);
  clearInterval(sampler);
  clearInterval(liveTimer);
  sample();
  phase = "reading the finished runs";

  // Everything below reads the final records; nothing is being stepped any more.
  const statuses: Record<string, number> = {};
  const recordBytes: number[] = [];
  const actionStepBytes: number[] = [];
  const withoutSteps: number[] = [];
  const durations: number[] = [];
  const cycles: number[] = [];
  const gaps: number[] = [];
  const firstDelays: number[] = [];
  const stepEnds: number[] = [];
  let actionSteps = 0;
  for (const runId of runIds) {
    const stored = await rawStore.get(`runs/${runId}`);
    if (!stored) throw new Error(`run ${runId} is missing from the store`);
    recordBytes.push(encoder.encode(stored.value).length);
    const record = JSON.parse(stored.value) as RunRecord;
    const { state } = record;
    statuses[state.status] = (statuses[state.status] ?? 0) + 1;
    const actions = state.steps.filter((s): s is ActionStep => s.type === "action");
    actionSteps += actions.length;
    for (const step of actions) {
      actionStepBytes.push(encoder.encode(JSON.stringify(step)).length);
      durations.push(step.timing.durationMs);
      stepEnds.push(step.timing.endTime);
    }
    for (let i = 1; i < actions.length; i++) {
      cycles.push(actions[i].timing.startTime - actions[i - 1].timing.startTime);
      gaps.push(actions[i].timing.startTime - actions[i - 1].timing.endTime);
    }
    if (actions.length) firstDelays.push(actions[0].timing.startTime - state.createdAt);
    const bare = { ...record, state: { ...state, steps: state.steps.filter((s) => s.type === "task") } };
    withoutSteps.push(encoder.encode(JSON.stringify(bare)).length);
  }
  stepEnds.sort((a, b) => a - b);
  const [e10, e90] = [percentile(stepEnds, 10), percentile(stepEnds, 90)];
  const sustained = e90 > e10 ? (stepEnds.filter((t) => t > e10 && t <= e90).length / (e90 - e10)) * 1000 : NaN;

  let kvFileBytes: number | undefined;
  if (tempDir) {
    kvFileBytes = 0;
    for await (const entry of Deno.readDir(tempDir)) {
      if (entry.isFile) kvFileBytes += (await Deno.stat(`${tempDir}/${entry.name}`)).size;
    }
  }

  collectGarbage();
  const after = memory();
  phase = "shutting down";
  await stopQueue();
  const modelCallsServed = await model.close();
  if (tempDir) await Deno.remove(tempDir, { recursive: true });
  clearTimeout(abort);

  const wallMs = t1 - t0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const meanRecord = summarize(recordBytes).mean;
  return {
    mode,
    kvDir: mode === "deno-kv" ? options.kvDir : undefined,
    runs,
    stepsPerRun: steps,
    latencyMs: options.latencyMs,
    gc: Boolean(gc),
    statuses,
    actionSteps,
    createMs,
    wallMs,
    stepsPerSecond: actionSteps / (wallMs / 1000),
    sustainedStepsPerSecond: sustained,
    cpuMs,
    cpuMsPerStep: cpuMs / actionSteps,
    threadCores: ticksStart && ticksEnd
      ? {
        main: (ticksEnd.main - ticksStart.main) / USER_HZ / (wallMs / 1000),
        sqlite: (ticksEnd.sqlite - ticksStart.sqlite) / USER_HZ / (wallMs / 1000),
        others: (ticksEnd.others - ticksStart.others) / USER_HZ / (wallMs / 1000),
      }
      : undefined,
    eventLoopLag: summarize(lags),
    cpuPressure: pressureStart && pressureEnd ? (pressureEnd.cpu - pressureStart.cpu) / 1000 / wallMs : undefined,
    ioPressure: pressureStart && pressureEnd ? (pressureEnd.io - pressureStart.io) / 1000 / wallMs : undefined,
    loadAverage: load1,
    stepDuration: summarize(durations),
    stepCycle: summarize(cycles),
    stepGap: summarize(gaps),
    firstStepDelay: summarize(firstDelays),
    queueWait: summarize(queueWaits),
    handlerTime: summarize(handlerTimes),
    peakConcurrentHandlers: peakInFlight,
    deliveries,
    expectedDeliveries: actionSteps,
    handlerErrors,
    delayedEnqueues: queue.delayed,
    storeGetsPerStep: store.getMs.length / actionSteps,
    storePutsPerStep: store.putMs.length / actionSteps,
    storeGet: summarize(store.getMs),
    storePut: summarize(store.putMs),
    enqueue: summarize(queue.enqueueMs),
    baseline,
    peak,
    after,
    rssPerRunKiB: (peak.rss - baseline.rss) / runs / 1024,
    ...(() => {
      const busiest = liveSamples.reduce<typeof liveSamples[number] | undefined>(
        (best, s) => !best || s.handlers > best.handlers ? s : best,
        undefined,
      );
      return busiest
        ? {
          liveHeapPerHandlerKiB: (busiest.heapUsed - baseline.heapUsed) / busiest.handlers / 1024,
          liveHeapHandlers: busiest.handlers,
        }
        : {};
    })(),
    heapPerRunKiB: (peak.heapUsed - baseline.heapUsed) / runs / 1024,
    externalPerRunKiB: (peak.external - baseline.external) / runs / 1024,
    recordBytes: summarize(recordBytes),
    recordBytesPerStep: meanRecord / (actionSteps / runs),
    actionStepBytes: summarize(actionStepBytes),
    recordBytesWithoutSteps: summarize(withoutSteps).mean,
    bytesWrittenPerRun: store.putChars / runs,
    kvFileBytes,
    modelCallsServed,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting

function report(r: Result): string {
  const mem = (s: MemorySample) =>
    `rss ${fmt(s.rss / MiB)} MiB, heap ${fmt(s.heapUsed / MiB)} MiB, external ${fmt(s.external / MiB)} MiB`;
  const statuses = Object.entries(r.statuses).map(([s, n]) => `${n} ${s}`).join(", ");
  const lines = [
    `== ${r.mode}: ${r.runs} background runs x ${r.stepsPerRun} steps, model latency ${r.latencyMs} ms` +
    (r.gc ? " (gc exposed)" : " (no --expose-gc: memory figures include uncollected garbage)"),
    `runs:            ${statuses}; ${r.actionSteps} action steps; ${r.modelCallsServed} model calls served (incl. warm-up)`,
    `creation:        ${fmt(r.createMs)} ms for ${r.runs} POSTs`,
    `wall time:       ${fmt(r.wallMs / 1000, 2)} s  ->  ${fmt(r.stepsPerSecond)} steps/s ` +
    `(sustained, p10-p90 of completions: ${fmt(r.sustainedStepsPerSecond)} steps/s)`,
    `CPU (this proc): ${fmt(r.cpuMs)} ms = ${fmt(r.cpuMsPerStep, 2)} ms/step, ${fmt(r.cpuMs / r.wallMs, 2)} cores` +
    (r.threadCores === undefined
      ? ""
      : ` (main JS thread ${fmt(r.threadCores.main, 2)}, SQLite thread ${fmt(r.threadCores.sqlite, 2)}, other threads ${
        fmt(r.threadCores.others, 2)
      })`),
    `event loop lag:  ${fmtSummary(r.eventLoopLag)}  (how late a 20 ms timer fires)`,
    `machine:         load ${fmt(r.loadAverage, 2)} at start` +
    (r.cpuPressure === undefined
      ? ""
      : `; something waited for CPU ${fmt(r.cpuPressure * 100, 0)}% and for I/O ${
        fmt(r.ioPressure! * 100, 0)
      }% of the time (PSI; includes this bench)`),
    `agent.step:      ${fmtSummary(r.stepDuration)}  (model call + tool, from the step timings)`,
    `step cycle:      ${fmtSummary(r.stepCycle)}  (start of a step to start of the next, same run)`,
    `between steps:   ${fmtSummary(r.stepGap)}  (commit + enqueue + delivery + read + lock)`,
    `first step:      ${fmtSummary(r.firstStepDelay)}  after run creation`,
    `queue wait:      ${fmtSummary(r.queueWait)}  (enqueue -> handler start)`,
    `handler:         ${fmtSummary(r.handlerTime)}  (one message)`,
    `deliveries:      ${r.deliveries} (expected ${r.expectedDeliveries}), ${r.handlerErrors} handler errors, ` +
    `peak ${r.peakConcurrentHandlers} handlers at once, ${r.delayedEnqueues} watchdog copies enqueued`,
    `store calls:     ${fmt(r.storeGetsPerStep)} gets + ${fmt(r.storePutsPerStep)} puts per step; ` +
    `get ${fmtSummary(r.storeGet)}; put ${fmtSummary(r.storePut)}; enqueue ${fmtSummary(r.enqueue)}`,
    `memory baseline: ${mem(r.baseline)}`,
    `memory peak:     ${mem(r.peak)}`,
    `memory after:    ${mem(r.after)} (finished runs still held${r.mode === "in-process" ? " by MemoryStore" : ""})`,
    `per in-flight run (peak - baseline) / runs: rss ${fmt(r.rssPerRunKiB)} KiB, heap ${fmt(r.heapPerRunKiB)} KiB, ` +
    `external ${fmt(r.externalPerRunKiB)} KiB`,
    ...(r.liveHeapPerHandlerKiB === undefined ? [] : [
      `live heap:       ${fmt(r.liveHeapPerHandlerKiB)} KiB per in-flight handler (forced GC with ` +
      `${r.liveHeapHandlers} handlers in flight)`,
    ]),
    `state:           finished record ${fmt(r.recordBytes.mean, 0)} B (${fmt(r.recordBytesPerStep, 0)} B/step); ` +
    `one action step ${fmt(r.actionStepBytes.mean, 0)} B (p95 ${fmt(r.actionStepBytes.p95, 0)} B); ` +
    `record without steps ${fmt(r.recordBytesWithoutSteps, 0)} B`,
    `written:         ${fmt(r.bytesWrittenPerRun / 1024)} KiB of records per run (every step writes the whole ` +
    `record twice: lock, then commit)` +
    (r.kvFileBytes === undefined ? "" : `; SQLite files ${fmt(r.kvFileBytes / MiB)} MiB`),
  ];
  return lines.join("\n");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const setupName = (r: Result) => r.mode === "deno-kv" && r.kvDir ? `deno-kv (file in ${r.kvDir})` : r.mode;

/** A markdown table: one row per measurement, then the median of each set-up measured more than once. */
function table(results: Result[]): string {
  // Each column renders from a metric getter, so the median row is the same cell of per-metric medians.
  type Get = (r: Result) => number;
  const columns: Array<[title: string, cell: (get: (f: Get) => number) => string]> = [
    ["steps/s", (g) => fmt(g((r) => r.stepsPerSecond))],
    ["sustained steps/s", (g) => fmt(g((r) => r.sustainedStepsPerSecond))],
    ["wall", (g) => `${fmt(g((r) => r.wallMs) / 1000, 2)} s`],
    ["step cycle p50 / p95", (g) => `${fmt(g((r) => r.stepCycle.p50), 0)} / ${fmt(g((r) => r.stepCycle.p95), 0)} ms`],
    ["queue wait p50 / p95", (g) => `${fmt(g((r) => r.queueWait.p50), 0)} / ${fmt(g((r) => r.queueWait.p95), 0)} ms`],
    ["CPU/step", (g) => `${fmt(g((r) => r.cpuMsPerStep), 2)} ms`],
    ["RSS/run", (g) => `${fmt(g((r) => r.rssPerRunKiB), 0)} KiB`],
    ["heap/run", (g) => `${fmt(g((r) => r.heapPerRunKiB), 0)} KiB`],
  ];
  const rows = [
    `| set-up | run | succeeded | ${columns.map(([title]) => title).join(" | ")} |`,
    `| --- | --- | --- | ${columns.map(() => "---").join(" | ")} |`,
  ];
  for (const r of results) {
    const cells = columns.map(([, cell]) => cell((f) => f(r)));
    rows.push(`| ${setupName(r)} | ${r.round ?? 1} | ${r.statuses.succeeded ?? 0}/${r.runs} | ${cells.join(" | ")} |`);
  }
  for (const name of new Set(results.map(setupName))) {
    const of = results.filter((r) => setupName(r) === name);
    if (of.length < 2) continue;
    const cells = columns.map(([, cell]) => cell((f) => median(of.map(f))));
    const succeeded = of.reduce((sum, r) => sum + (r.statuses.succeeded ?? 0), 0);
    const total = of.reduce((sum, r) => sum + r.runs, 0);
    rows.push(`| ${name} | median of ${of.length} | ${succeeded}/${total} | ${cells.join(" | ")} |`);
  }
  const first = results[0];
  rows.push(
    "",
    `State per run (${first.stepsPerRun} steps): finished record ${fmt(first.recordBytes.mean, 0)} B = ` +
      `${fmt(first.recordBytesPerStep, 0)} B/step; one action step record ${fmt(first.actionStepBytes.mean, 0)} B; ` +
      `record without steps ${fmt(first.recordBytesWithoutSteps, 0)} B; ` +
      `${fmt(first.bytesWrittenPerRun / 1024)} KiB of records written per run.`,
  );
  return rows.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Entry

/** Runs one measurement in a fresh child process of this script (clean memory) and returns its result. */
async function measureInChild(mode: Mode, options: Options): Promise<Result> {
  const resultFile = await Deno.makeTempFile({ prefix: "smolstep-bench-", suffix: ".json" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        ...(gc ? ["--v8-flags=--expose-gc"] : []),
        import.meta.filename!,
        "--queue",
        mode,
        "--runs",
        String(options.runs),
        "--steps",
        String(options.steps),
        "--latency",
        String(options.latencyMs),
        "--timeout",
        String(options.timeoutS),
        "--lock-ttl-ms",
        String(options.lockTtlMs),
        "--warmup",
        String(options.warmup),
        "--result-file",
        resultFile,
        ...(options.kvDir ? ["--kv-dir", options.kvDir] : []),
        ...(options.liveHeap ? ["--live-heap"] : []),
      ],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // The child aborts itself after the timeout; this is the backstop if it hangs anyway.
    const killer = setTimeout(() => {
      console.error(`background_runs_bench: killing the ${mode} measurement (no exit ${options.timeoutS + 30} s)`);
      child.kill("SIGKILL");
    }, (options.timeoutS + 30) * 1000);
    const status = await child.status;
    clearTimeout(killer);
    if (!status.success) throw new Error(`the ${mode} measurement failed (exit code ${status.code})`);
    return JSON.parse(await Deno.readTextFile(resultFile)) as Result;
  } finally {
    await Deno.remove(resultFile).catch(() => {});
  }
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  if (options.serveModel) return await serveModel(options);
  if (options.liveHeap && !gc) throw new Error("--live-heap needs --v8-flags=--expose-gc");

  const modes: Mode[] = options.queue === "both" ? ["in-process", "deno-kv"] : [options.queue];
  if (modes.length === 1 && options.repeat === 1) {
    const result = await measure(modes[0], options);
    console.log(report(result));
    if (options.resultFile) await Deno.writeTextFile(options.resultFile, JSON.stringify(result));
    return;
  }

  const results: Result[] = [];
  for (let round = 1; round <= options.repeat; round++) {
    for (const mode of modes) {
      console.log(`\n-- round ${round}/${options.repeat}: ${mode}`);
      results.push({ ...await measureInChild(mode, options), round });
    }
  }
  console.log(`\n${table(results)}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`background_runs_bench: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
