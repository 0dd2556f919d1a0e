import assert from "node:assert/strict";
import { scriptedModelEnv, startDenoEntry } from "../support/deno_entry.ts";
import { startScriptedModelServer } from "../support/scripted_model_server.ts";

/**
 * functions/deno.ts buffers its log lines (createBufferedJsonSink): every request's line still reaches stdout,
 * exactly once and in order, when the process is stopped with SIGTERM. Nothing reads its stdout until then (a log
 * collector fallen behind): the pipe fills, the server keeps answering, and the lines it holds at the signal are
 * written before it exits.
 */
Deno.test("Deno entry: every request's log line on stdout exactly once, in order, through SIGTERM", async () => {
  const model = await startScriptedModelServer();
  const dir = await Deno.makeTempDir({ prefix: "smolstep-logflush-" });
  const server = await startDenoEntry({
    ...scriptedModelEnv(model.url, dir),
    SMOLSTEP_SECRET: "logflush-secret-0123456789abcdef",
  }, { stdoutUnread: true });
  const sequential = Array.from({ length: 400 }, (_, i) => `seq-${i}`);
  const burst = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
  const get = async (id: string, path = "/health") => {
    const response = await fetch(`${server.url}${path}`, { headers: { "X-Request-Id": id } });
    await response.body?.cancel();
    return response.status;
  };
  let stopped: Awaited<ReturnType<typeof server.stop>>;
  try {
    for (const id of sequential) assert.equal(await get(id), 200);
    // Past the pipe's 64 KiB by now (~150 bytes a line): the last lines are held by the server at the signal.
    const statuses = await Promise.all(burst.map((id, i) => get(id, i % 2 ? "/health" : "/v1/runs/nope")));
    assert.ok(statuses.every((status) => status === 200 || status === 404), statuses.join());
  } finally {
    stopped = await server.stop();
    await model.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  assert.equal(stopped.status.signal, null, "the entry exits itself on SIGTERM (not killed by it), after its logs");
  assert.equal(stopped.status.code, 128 + 15);
  const records = stopped.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  const ids = records.map((record) => record.requestId).filter((id): id is string => typeof id === "string");
  assert.deepEqual(ids.filter((id) => id.startsWith("seq-")), sequential, "every sequential request once, in order");
  const burstSeen = ids.filter((id) => id.startsWith("burst-"));
  assert.deepEqual([...burstSeen].sort(), [...burst].sort(), "every request of the burst exactly once");
  assert.ok(ids.indexOf("burst-0") > ids.indexOf("seq-399"), "the burst after the sequence");
  // Every stdout line whole: JSON or Deno.serve's own notice.
  const others = stopped.stdout.split("\n").filter((line) => line.trim() && !line.startsWith("{"));
  assert.deepEqual(others.filter((line) => !line.startsWith("Listening on ")), []);
});
