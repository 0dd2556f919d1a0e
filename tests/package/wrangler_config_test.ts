/**
 * wrangler.toml's queue consumer hands each message over as soon as it arrives (`max_batch_timeout = 0`): with
 * wrangler's default of 5 s, or the 1 s it once had, every background step waited that long for a batch to fill
 * (bench/background_continuation_bench.ts measures the delay; tests/e2e/worker_durable_test.ts runs the queue).
 */
import assert from "node:assert/strict";

/** The lines of the TOML table headed `[[name]]` or `[name]` (up to the next header). */
function tableLines(toml: string, header: string): string[] {
  const lines = toml.split("\n").map((line) => line.replace(/#.*$/, "").trim());
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `wrangler.toml has ${header}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith("["));
  return (end < 0 ? rest : rest.slice(0, end)).filter(Boolean);
}

Deno.test("wrangler.toml: the background queue's consumer does not wait for batches to fill", async () => {
  const toml = await Deno.readTextFile(new URL("../../wrangler.toml", import.meta.url));
  const consumer = Object.fromEntries(
    tableLines(toml, "[[queues.consumers]]").map((line) => line.split("=").map((part) => part.trim())),
  );
  assert.equal(consumer.queue, '"smolstep-steps"');
  assert.equal(consumer.max_batch_timeout, "0", "a batch timeout delays every background step by that long");
  assert.ok(Number(consumer.max_batch_size) >= 1 && Number(consumer.max_batch_size) <= 10, consumer.max_batch_size);
});
