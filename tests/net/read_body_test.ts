import assert from "node:assert/strict";
import { BodyTooLargeError, readBodyCapped } from "../../lib/net/read_body.ts";

/** A body streamed in `chunks` chunks of `size` bytes, without a Content-Length; counts the chunks pulled. */
function streamed(chunks: number, size: number) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(pulled));
    },
  });
  return { response: new Response(body), pulled: () => pulled };
}

Deno.test("readBodyCapped reads a body up to the ceiling", async () => {
  const { response } = streamed(3, 10);
  const bytes = await readBodyCapped(response, 30);
  assert.equal(bytes.length, 30);
  assert.deepEqual([bytes[0], bytes[10], bytes[29]], [1, 2, 3]);
});

Deno.test("an endless download stops at the ceiling (streamed, no Content-Length)", async () => {
  const { response, pulled } = streamed(1_000_000, 1024);
  await assert.rejects(readBodyCapped(response, 4096), BodyTooLargeError);
  assert.ok(pulled() <= 6, `${pulled()} chunks pulled`);
});

Deno.test("an announced Content-Length over the ceiling is refused before reading", async () => {
  const response = new Response("x".repeat(100), { headers: { "content-length": "100" } });
  await assert.rejects(
    readBodyCapped(response, 50),
    (error) => error instanceof BodyTooLargeError && error.size === 100,
  );
});
