/** Byte helpers shared by the stores, the egress guard and the signature code (Web-standard only). */

const encoder = new TextEncoder();

/** The bytes of `parts` one after the other (text as UTF-8), in one new array. */
export function concatBytes(...parts: Array<string | Uint8Array>): Uint8Array<ArrayBuffer> {
  const chunks = parts.map((part) => typeof part === "string" ? encoder.encode(part) : part);
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
