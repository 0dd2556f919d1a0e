/**
 * Reading a `text/event-stream` body by the WHATWG rules: any line ending (CRLF, LF, CR, even split across chunks),
 * comments, multi-line `data`, a leading BOM, ids without NUL; an event is dispatched at its blank line, and one left
 * unfinished when the body ends is dropped (as EventSource does), unless `dispatchAtEnd` is set (as the `openai`
 * client reads a model's stream). No imports, so any entry (the typed client included) can use it.
 */

/** One dispatched event: `event` defaults to "message"; `data` lines joined with "\n". */
export interface SseMessage {
  event: string;
  data: string;
  /** The last `id` seen on this stream (it carries over to later events, as in EventSource). */
  id?: string;
}

export interface ReadSseOptions {
  /** Dispatch an event the body ends in without its blank line (and its last line without a line ending). */
  dispatchAtEnd?: boolean;
}

/** The events of `body`, in order. Stopping early (or an error) cancels the body. */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  options: ReadSseOptions = {},
): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder(); // drops a leading BOM
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done && !options.dispatchAtEnd) return;
      buffer += done ? decoder.decode() + "\n\n" : decoder.decode(value, { stream: true });
      for (let end = buffer.search(/[\r\n]/); end >= 0; end = buffer.search(/[\r\n]/)) {
        if (buffer[end] === "\r" && end === buffer.length - 1) break; // maybe half of "\r\n": wait for more
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
        else if (field === "id" && !text.includes("\0")) id = text;
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
