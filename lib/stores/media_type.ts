/** Media types of common image and audio files, recognised by their first bytes. */

function startsWith(bytes: Uint8Array, signature: number[], offset = 0): boolean {
  return bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);
}

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

const SIGNATURES: Array<[string, number[], number?]> = [
  ["image/png", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ["image/jpeg", [0xff, 0xd8, 0xff]],
  ["image/gif", ascii("GIF8")],
  ["image/webp", ascii("WEBP"), 8],
  ["image/bmp", ascii("BM")],
  ["audio/wav", ascii("WAVE"), 8],
  ["audio/mpeg", ascii("ID3")],
  ["audio/ogg", ascii("OggS")],
  ["audio/flac", ascii("fLaC")],
];

/** The media type of `bytes` when their signature is a known one, else undefined. */
export function sniffMediaType(bytes: Uint8Array): string | undefined {
  for (const [type, signature, offset] of SIGNATURES) {
    if (offset === 8 && !startsWith(bytes, ascii("RIFF"))) continue;
    if (startsWith(bytes, signature, offset)) return type;
  }
  // An MPEG audio frame without an ID3 tag starts with an 11-bit sync word.
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0) return "audio/mpeg";
  return undefined;
}
