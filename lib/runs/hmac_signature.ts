/**
 * HMAC-SHA256 signatures for webhooks (incoming) and result callbacks (outgoing), hex encoded as `sha256=<hex>`.
 * Verification uses `crypto.subtle.verify`, which compares in constant time.
 */

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    if (keys.size > 100) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^([0-9a-f]{2})+$/i.test(text)) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, payload). */
export async function signPayload(secret: string, payload: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const mac = await crypto.subtle.sign("HMAC", await keyFor(secret), data);
  return `sha256=${toHex(new Uint8Array(mac))}`;
}

/** Checks a `sha256=<hex>` header value against the payload, in constant time. */
export async function verifyPayload(
  secret: string,
  payload: string | Uint8Array<ArrayBuffer>,
  header: string | undefined | null,
): Promise<boolean> {
  const match = header?.trim().match(/^sha256=([0-9a-fA-F]{64})$/);
  const signature = match ? fromHex(match[1]) : null;
  if (!signature) return false;
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  return await crypto.subtle.verify("HMAC", await keyFor(secret), signature, data);
}
