/**
 * The load test's servers as child processes, so the load generator never shares their event loop: spawn, wait
 * until ready, read RSS from /proc, stop. Their output is kept (the last 64 KB) for when something goes wrong.
 */

const TAIL_CHARS = 64 * 1024;

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** The last lines the process printed (stdout and stderr interleaved). */
  output(): string;
  /** Resident memory in bytes (VmRSS), or undefined when /proc cannot be read (not Linux, or gone). */
  rss(): Promise<number | undefined>;
  /** CPU time (user + system) the process has used so far, in seconds; undefined where /proc cannot be read. */
  cpuSeconds(): Promise<number | undefined>;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Runs `deno run <args>`; `firstLine` resolves with the first JSON line it prints on stdout (its "ready"
 * announcement), and rejects if the process exits first. A process that announces nothing is polled instead.
 */
export function spawnDeno<Ready>(
  name: string,
  args: string[],
  options: { env?: Record<string, string> } = {},
): { process: ServerProcess; firstLine: Promise<Ready> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  const keep = (text: string) => {
    tail = (tail + text).slice(-TAIL_CHARS);
  };
  const firstLine = Promise.withResolvers<Ready>();
  const pump = async (stream: ReadableStream<Uint8Array>, watch: boolean) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      keep(text);
      if (!watch) continue;
      pending += text;
      for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line.startsWith("{")) {
          try {
            firstLine.resolve(JSON.parse(line) as Ready);
            watch = false;
          } catch { /* not the announcement */ }
        }
      }
    }
  };
  const pumped = Promise.all([pump(child.stdout, true), pump(child.stderr, false)]).catch(() => {});
  const exited = child.status.then((status) => {
    firstLine.reject(new Error(`${name} exited (${status.code}) before it was ready:\n${tail}`));
    return status;
  });
  firstLine.promise.catch(() => {});
  let stopping: Promise<void> | undefined;
  const process: ServerProcess = {
    name,
    pid: child.pid,
    output: () => tail,
    rss: () => readRss(child.pid),
    cpuSeconds: () => readCpuSeconds(child.pid),
    stop: () =>
      stopping ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, 3_000);
        await exited;
        clearTimeout(timer);
        await pumped;
      })(),
  };
  return { process, firstLine: firstLine.promise };
}

/** Spawns and waits for the ready line (or fails after `readyTimeoutMs`, stopping the process). */
export async function startServer<Ready>(
  name: string,
  args: string[],
  options: { env?: Record<string, string>; readyTimeoutMs?: number } = {},
): Promise<{ process: ServerProcess; ready: Ready }> {
  const { process, firstLine } = spawnDeno<Ready>(name, args, options);
  const timeout = AbortSignal.timeout(options.readyTimeoutMs ?? 60_000);
  try {
    const ready = await Promise.race([
      firstLine,
      new Promise<never>((_, reject) =>
        timeout.addEventListener(
          "abort",
          () => reject(new Error(`${name} was not ready in time:\n${process.output()}`)),
        )
      ),
    ]);
    return { process, ready };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/** Polls `url` until it answers 2xx (for servers that print no ready line). */
export async function waitUntilAnswers(url: string, process: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${process.name} did not answer ${url}:\n${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** VmRSS of a process, in bytes, from /proc/<pid>/status. */
export async function readRss(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU seconds of a process (all its threads), from /proc/<pid>/stat. */
export async function readCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is
    // field 14 and stime field 15 of the whole line, i.e. 12th and 13th after ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Bytes of a SQLite database on disk: the file and its -wal and -shm companions. */
export async function sqliteBytes(path: string): Promise<number> {
  let total = 0;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      total += (await Deno.stat(file)).size;
    } catch { /* not there (yet) */ }
  }
  return total;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Summed VmRSS of every process in process group `pgid` (a detached child and everything it started). */
export async function readGroupRss(pgid: number): Promise<number | undefined> {
  let total: number | undefined;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      // Field 5 of /proc/<pid>/stat is the process group; the command name (field 2) may hold spaces, so count from
      // its closing parenthesis.
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const rss = await readRss(Number(entry.name));
      if (rss !== undefined) total = (total ?? 0) + rss;
    } catch { /* gone meanwhile */ }
  }
  return total;
}

/** The pid of the first process whose command line contains `needle`, if any. */
export async function findProcess(needle: string): Promise<number | undefined> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll("\0", " ");
      if (cmdline.includes(needle)) return Number(entry.name);
    } catch { /* gone meanwhile */ }
  }
  return undefined;
}

/** Bytes of every file under `dir` (recursively); 0 when it does not exist. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) total += await directoryBytes(path);
      else if (entry.isFile) total += (await Deno.stat(path).catch(() => ({ size: 0 }))).size;
    }
  } catch { /* not there */ }
  return total;
}
