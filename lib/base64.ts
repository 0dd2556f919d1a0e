/**
 * The one base64 module (Web-standard only): standard base64 with padding (blobs, `data:` URLs, the sandbox's value
 * bridge, Standard Webhooks signatures and `whsec_` secrets) and base64url without padding (state tokens). Uses the
 * runtime's `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` where they exist, `btoa` / `atob` elsewhere.
 */

type NativeEncode = { toBase64?: (options?: { alphabet?: string; omitPadding?: boolean }) => string };
type NativeDecode = {
  fromBase64?: (text: string, options?: { alphabet?: string; lastChunkHandling?: string }) => Uint8Array<ArrayBuffer>;
};

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const native = (bytes as NativeEncode).toBase64;
  if (native) return native.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The bytes of standard base64 (padding optional), or null for text that is not base64. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!STANDARD.test(text)) return null;
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) return null;
  return fromBinary(unpadded);
}

/** Like {@link decodeBase64}, but throws `SyntaxError` on text that is not base64. */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const bytes = decodeBase64(text);
  if (!bytes) throw new SyntaxError("invalid base64");
  return bytes;
}

/** base64url without padding. */
export function encodeBase64Url(bytes: Uint8Array): string {
  const native = (bytes as NativeEncode).toBase64;
  if (native) return native.call(bytes, { alphabet: "base64url", omitPadding: true });
  return encodeBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The bytes of base64url (no padding), or null for text that is not base64url. */
export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!URL_SAFE.test(text) || text.length % 4 === 1) return null;
  const native = (Uint8Array as NativeDecode).fromBase64;
  if (native) return native(text, { alphabet: "base64url", lastChunkHandling: "loose" });
  return fromBinary(text.replaceAll("-", "+").replaceAll("_", "/"));
}

/** Decodes checked, unpadded standard base64. */
function fromBinary(unpadded: string): Uint8Array<ArrayBuffer> {
  const native = (Uint8Array as NativeDecode).fromBase64;
  if (native) return native(unpadded + "=".repeat((4 - unpadded.length % 4) % 4));
  const binary = atob(unpadded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
