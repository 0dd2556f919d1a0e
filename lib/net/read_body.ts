/**
 * Reads a response body into memory with a ceiling, so a URL from outside cannot make the server buffer an
 * unbounded download. Stops reading (and cancels the stream) as soon as the ceiling is passed.
 */

import { concatBytes } from "../bytes.ts";
import { SmolstepError } from "../errors.ts";

/** Thrown when a body is larger than allowed; `size` is what was announced or read so far. */
export class BodyTooLargeError extends SmolstepError {
  override name = "BodyTooLargeError";
  constructor(readonly size: number, readonly maxBytes: number) {
    super(`the response body holds more than ${maxBytes} bytes (${size} seen)`, { code: "body_too_large" });
  }
}

export async function readBodyCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const announced = Number(response.headers.get("content-length"));
  if (announced > maxBytes) {
    await response.body?.cancel();
    throw new BodyTooLargeError(announced, maxBytes);
  }
  if (!response.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(size, maxBytes);
    }
    chunks.push(value);
  }
  return concatBytes(...chunks);
}

/** The text of the first `maxBytes` of a body (then the body is cancelled). */
export async function readStart(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (let size = 0; size < maxBytes;) {
      const { value, done } = await reader.read();
      if (done) return text + decoder.decode();
      size += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
    return text;
  } finally {
    await reader.cancel().catch(() => {});
  }
}
