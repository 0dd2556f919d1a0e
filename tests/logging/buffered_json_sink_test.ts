import assert from "node:assert/strict";
import { createBufferedJsonSink, type LogWriter } from "../../lib/adapters/deno/buffered_json_sink.ts";
import { createLogger } from "../../lib/logging/logger.ts";

const decoder = new TextDecoder();

/** A stream that records each write; `gate` holds writes until opened; `chunk` caps the bytes taken per write. */
function fakeWriter(options: { chunk?: number; fail?: boolean } = {}) {
  const writes: string[] = [];
  let open: () => void = () => {};
  let gate: Promise<void> | undefined;
  const writer: LogWriter & { writes: string[]; text(): string; block(): void; unblock(): void } = {
    writes,
    text: () => writes.join(""),
    block: () => gate = new Promise((resolve) => open = resolve),
    unblock: () => {
      gate = undefined;
      open();
    },
    async write(bytes) {
      while (gate) await gate;
      if (options.fail) throw new Error("broken pipe");
      const taken = bytes.subarray(0, options.chunk ?? bytes.length);
      writes.push(decoder.decode(taken));
      return taken.length;
    },
  };
  return writer;
}

const lines = (text: string) => text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("buffered sink: a tick's lines in one write, in order, on the stream of their level", async () => {
  const stdout = fakeWriter(), stderr = fakeWriter();
  const logs = createBufferedJsonSink({ stdout, stderr });
  const logger = createLogger({ level: "debug", sink: logs.sink, now: () => 0 });
  for (let i = 0; i < 100; i++) logger.info("request", { i });
  logger.debug("detail");
  logger.warn("slow");
  logger.error("failed");
  assert.deepEqual(stdout.writes, [], "nothing is written on the calling thread");
  await tick();
  await logs.flush();
  assert.equal(stdout.writes.length, 1, "one write for the batch");
  assert.equal(stderr.writes.length, 1);
  const out = lines(stdout.text());
  assert.deepEqual(out.map((record) => record.i), [...Array(100).keys(), undefined]);
  assert.deepEqual(out.map((record) => record.level), [...Array(100).fill("info"), "debug"]);
  assert.deepEqual(lines(stderr.text()).map((record) => record.msg), ["slow", "failed"]);
  assert.equal(out[0].time, "1970-01-01T00:00:00.000Z");
});

Deno.test("buffered sink: the logger's level still filters", async () => {
  const stdout = fakeWriter(), stderr = fakeWriter();
  const logs = createBufferedJsonSink({ stdout, stderr });
  const logger = createLogger({ level: "warn", sink: logs.sink });
  logger.info("no");
  logger.debug("no");
  logger.warn("yes");
  await logs.flush();
  assert.equal(stdout.text(), "");
  assert.deepEqual(lines(stderr.text()).map((record) => record.msg), ["yes"]);
});

Deno.test("buffered sink: lines logged during a write go in the next batch, after it; partial writes are resumed", async () => {
  const stdout = fakeWriter({ chunk: 7 });
  const logs = createBufferedJsonSink({ stdout, stderr: fakeWriter() });
  const logger = createLogger({ sink: logs.sink });
  stdout.block();
  logger.info("first", { n: 1 });
  logger.info("first", { n: 2 });
  await tick(); // the first batch's write starts and waits
  logger.info("second", { n: 3 });
  stdout.unblock();
  await logs.flush();
  const text = stdout.text();
  assert.ok(text.endsWith("\n"));
  assert.deepEqual(lines(text).map((record) => record.n), [1, 2, 3], "every line whole, in order");
});

Deno.test("buffered sink: flush() writes at once, without waiting for the tick", async () => {
  const stdout = fakeWriter();
  const logs = createBufferedJsonSink({ stdout, stderr: fakeWriter() });
  createLogger({ sink: logs.sink }).info("now");
  await logs.flush();
  assert.equal(lines(stdout.text())[0].msg, "now");
  await logs.flush(); // nothing held: resolves
  assert.equal(stdout.writes.length, 1);
});

Deno.test("buffered sink: a batch past batchBytes is written before the tick", async () => {
  const stdout = fakeWriter();
  stdout.block();
  const logs = createBufferedJsonSink({ stdout, stderr: fakeWriter(), batchBytes: 1000 });
  const logger = createLogger({ sink: logs.sink });
  for (let i = 0; i < 30; i++) logger.info("request", { i, pad: "x".repeat(50) });
  stdout.unblock();
  await Promise.resolve(); // no timer tick has run yet
  await Promise.resolve();
  assert.ok(stdout.writes.length >= 1, "written once the batch was big enough");
  await logs.flush();
  assert.deepEqual(lines(stdout.text()).map((record) => record.i), [...Array(30).keys()]);
});

Deno.test("buffered sink: a stuck stream holds at most maxBufferBytes, then says how many lines it dropped", async () => {
  const stdout = fakeWriter();
  stdout.block();
  const logs = createBufferedJsonSink({ stdout, stderr: fakeWriter(), maxBufferBytes: 2000 });
  const logger = createLogger({ sink: logs.sink });
  for (let i = 0; i < 1000; i++) logger.info("request", { i });
  await tick();
  const kept = 2000 /
    (JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "request", i: 100 }).length + 1);
  assert.ok(logs.dropped > 1000 - kept - 2 && logs.dropped < 1000 - kept + 10, `dropped ${logs.dropped}`);
  const droppedWhileStuck = logs.dropped;
  stdout.unblock();
  await logs.flush();
  logger.info("after", { i: 1000 });
  await logs.flush();
  const out = lines(stdout.text());
  const note = out.findIndex((record) => record.msg === "log.dropped");
  assert.ok(note > 0, "a dropped-lines note");
  assert.equal(out[note].dropped, droppedWhileStuck);
  assert.equal(out[note].level, "warn");
  assert.deepEqual(out.slice(0, note).map((record) => record.i), [...Array(note).keys()], "the first lines kept");
  assert.equal(note + droppedWhileStuck, 1000, "kept + dropped = logged");
  assert.equal(out.at(-1).msg, "after", "logging goes on after the drop");
  assert.equal(out.filter((record) => record.msg === "log.dropped").length, 1);
});

Deno.test("buffered sink: a failing stream loses its batch, counted, and never throws at the caller", async () => {
  const logs = createBufferedJsonSink({ stdout: fakeWriter({ fail: true }), stderr: fakeWriter() });
  const logger = createLogger({ sink: logs.sink });
  logger.info("a");
  logger.info("b");
  await logs.flush();
  assert.equal(logs.dropped, 2);
  logger.info("c"); // its batch starts with the note of the 2 dropped: both lost, the note not counted as a line
  await logs.flush();
  assert.equal(logs.dropped, 3);
});

Deno.test("buffered sink: flushDelayMs lets a batch gather lines for longer", async () => {
  const stdout = fakeWriter();
  const logs = createBufferedJsonSink({ stdout, stderr: fakeWriter(), flushDelayMs: 30 });
  const logger = createLogger({ sink: logs.sink });
  logger.info("one");
  await tick();
  logger.info("two");
  await tick();
  assert.deepEqual(stdout.writes, [], "still gathering");
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(stdout.writes.length, 1);
  assert.deepEqual(lines(stdout.text()).map((record) => record.msg), ["one", "two"]);
  await logs.flush();
});

Deno.test("buffered sink: install() writes what is held when the process exits through Deno.exit", async () => {
  const sinkUrl = new URL("../../lib/adapters/deno/buffered_json_sink.ts", import.meta.url).href;
  const loggerUrl = new URL("../../lib/logging/logger.ts", import.meta.url).href;
  const script = `
    const { createBufferedJsonSink } = await import(${JSON.stringify(sinkUrl)});
    const { createLogger } = await import(${JSON.stringify(loggerUrl)});
    const logs = createBufferedJsonSink();
    logs.install();
    const logger = createLogger({ sink: logs.sink });
    for (let i = 0; i < 500; i++) logger.info("line", { i });
    logger.error("last");
    Deno.exit(3);
  `;
  const output = await new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "piped" })
    .output();
  assert.equal(output.code, 3);
  const decoder = new TextDecoder();
  assert.deepEqual(lines(decoder.decode(output.stdout)).map((record) => record.i), [...Array(500).keys()]);
  assert.deepEqual(lines(decoder.decode(output.stderr)).map((record) => record.msg), ["last"]);
});
