import { BodyTooLargeError } from "./read_body.ts";

/**
 * The response with a body that errors with `BodyTooLargeError` once more than `maxBytes` arrive, and cancels the
 * rest, `onOverflow` told first. For a response whose reader buffers it whole (JSON), the bound is the body's;
 * for an event stream (`text/event-stream`), which may stay open and carry many messages, it is each event's (the
 * bytes since the last blank line), the most its reader holds at once.
 */
export function capResponse(
  response: Response,
  maxBytes: number,
  onOverflow: (error: BodyTooLargeError) => void,
): Response {
  if (!response.body) return response;
  const events = /^\s*text\/event-stream/i.test(response.headers.get("content-type") ?? "");
  let size = 0;
  let previous = 0; // the byte before the current chunk
  let lineLength = 0; // bytes of the current line so far
  const overflow = (seen: number, controller: TransformStreamDefaultController<Uint8Array>) => {
    const error = new BodyTooLargeError(seen, maxBytes);
    onOverflow(error);
    controller.error(error);
  };
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        let counted = 0;
        for (let i = events ? chunk.indexOf(10) : -1; i !== -1; i = chunk.indexOf(10, i + 1)) {
          const line = lineLength + i - counted;
          const before = i > 0 ? chunk[i - 1] : previous;
          if (line === 0 || (line === 1 && before === 13)) {
            // A blank line ends an event: the next one counts from here.
            if (size + i + 1 - counted > maxBytes) return overflow(size + i + 1 - counted, controller);
            size = 0;
          } else {
            size += i + 1 - counted;
          }
          lineLength = 0;
          counted = i + 1;
        }
        lineLength += chunk.byteLength - counted;
        size += chunk.byteLength - counted;
        previous = chunk.byteLength ? chunk[chunk.byteLength - 1] : previous;
        if (size > maxBytes) return overflow(size, controller);
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
