/**
 * HMAC-SHA256 over Web Crypto, for webhooks (incoming) and result callbacks (outgoing). Verification uses
 * `crypto.subtle.verify`, which compares in constant time; nothing here compares MACs with `===`.
 */
import { encodeBase64 } from "../base64.ts";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** A secret as text (used as its UTF-8 bytes) or as raw bytes (a decoded `whsec_` secret). */
export type HmacSecret = string | Uint8Array<ArrayBuffer>;

function keyFor(secret: HmacSecret): Promise<CryptoKey> {
  const id = typeof secret === "string" ? `s:${secret}` : `b:${encodeBase64(secret)}`;
  let key = keys.get(id);
  if (!key) {
    const raw = typeof secret === "string" ? encoder.encode(secret) : secret;
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    if (keys.size > 100) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/** HMAC-SHA256(secret, data). */
export async function hmacSha256(
  secret: HmacSecret,
  data: string | Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.sign("HMAC", await keyFor(secret), bytes));
}

/** Whether `mac` is HMAC-SHA256(secret, data), compared in constant time. */
export async function verifyHmacSha256(
  secret: HmacSecret,
  mac: Uint8Array<ArrayBuffer>,
  data: string | Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return await crypto.subtle.verify("HMAC", await keyFor(secret), mac, bytes);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^([0-9a-f]{2})+$/i.test(text)) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, payload): GitHub's `X-Hub-Signature-256` format. */
export async function signPayload(secret: string, payload: string | Uint8Array<ArrayBuffer>): Promise<string> {
  return `sha256=${toHex(await hmacSha256(secret, payload))}`;
}

/** Checks a `sha256=<hex>` header value against the payload, in constant time. */
export async function verifyPayload(
  secret: string,
  payload: string | Uint8Array<ArrayBuffer>,
  header: string | undefined | null,
): Promise<boolean> {
  const match = header?.trim().match(/^sha256=([0-9a-fA-F]{64})$/);
  const signature = match ? fromHex(match[1]) : null;
  return signature ? await verifyHmacSha256(secret, signature, payload) : false;
}
