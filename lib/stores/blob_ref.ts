/**
 * References to stored bytes, and the `data:` URLs that carry bytes without a store. Web-standard APIs only.
 *
 * A blob ref is `blob:sha256:<64 lowercase hex>`, optionally followed by `;type=<type>/<subtype>`: the SHA-256
 * of the content (the address under which a `BlobStore` keeps it) plus a media-type hint. Two refs that differ
 * only in the hint name the same stored bytes. A ref is short (at most ~150 characters), so it can sit in a
 * state, an observation or a tool argument; resolving it needs the store that holds the bytes.
 */

import { SmolstepError } from "../errors.ts";
import { clipText } from "../text_clip.ts";
import { base64ToBytes, encodeBase64 } from "../base64.ts";

/** A `blob:sha256:...` string (a plain string at run time; the alias documents intent). */
export type BlobRef = string;

/** Bytes plus their media type, as a resolved ref or a decoded `data:` URL gives them. */
export interface BlobContent {
  bytes: Uint8Array;
  mimeType: string;
}

export type BlobErrorCode = "invalid_ref" | "not_found" | "no_store" | "too_large" | "corrupt";

/** A blob could not be stored or resolved; `code` says why. The message is meant for the model or the caller. */
export class BlobError extends SmolstepError {
  override name = "BlobError";
  declare readonly code: BlobErrorCode;
  constructor(code: BlobErrorCode, message: string, options?: ErrorOptions) {
    super(message, { ...options, code });
  }
}

/**
 * Largest content (raw bytes) stored under one key by default: 512 KiB. Stored as base64, that is 699,054
 * characters with the tag, under `DenoKvStore`'s 720,000-byte value ceiling; Workers KV and Durable Objects
 * take up to 25 MiB, so a `BlobStore` over them may be given a higher `maxBytes`.
 */
export const MAX_BLOB_BYTES = 524_288;

const REF_PATTERN = /^blob:sha256:([0-9a-f]{64})(?:;type=([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+))?$/;
const TYPE_PATTERN = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;
const encoder = new TextEncoder();

export function isBlobRef(value: unknown): value is BlobRef {
  return typeof value === "string" && REF_PATTERN.test(value);
}

export function isDataUrl(value: unknown): value is string {
  return typeof value === "string" && /^data:/i.test(value);
}

/** The digest and type hint of a ref; throws `BlobError("invalid_ref")` for anything else. */
export function parseBlobRef(ref: string): { sha256: string; mimeType?: string } {
  const match = REF_PATTERN.exec(ref);
  if (!match) {
    throw new BlobError(
      "invalid_ref",
      `"${
        clipText(ref, ECHO_CHARS)
      }" is not a blob ref; expected blob:sha256:<64 hex digits> with an optional ;type=<media type>`,
    );
  }
  return match[2] ? { sha256: match[1], mimeType: match[2] } : { sha256: match[1] };
}

export function formatBlobRef(sha256: string, mimeType?: string): BlobRef {
  const type = mimeType === undefined ? undefined : normalizeMimeType(mimeType);
  return `blob:sha256:${sha256}${type ? `;type=${type}` : ""}`;
}

/** `type/subtype` in lower case without parameters, or undefined when `mimeType` is not one. */
export function normalizeMimeType(mimeType: string): string | undefined {
  const bare = mimeType.split(";")[0].trim().toLowerCase();
  return TYPE_PATTERN.test(bare) ? bare : undefined;
}

/** Lower-case hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** UTF-8 bytes of a string, or the bytes themselves. */
export function contentBytes(content: Uint8Array | string): Uint8Array {
  return typeof content === "string" ? encoder.encode(content) : content;
}

/** A `data:<type>;base64,...` URL of the bytes. */
export function toDataUrl(bytes: Uint8Array, mimeType: string): string {
  return `data:${normalizeMimeType(mimeType) ?? "application/octet-stream"};base64,${encodeBase64(bytes)}`;
}

/**
 * Decodes a `data:` URL (base64 or percent-encoded). Refuses content over `maxBytes` (default
 * {@link MAX_BLOB_BYTES}) with `BlobError("too_large")`, and malformed URLs with `BlobError("invalid_ref")`.
 */
export function parseDataUrl(url: string, maxBytes = MAX_BLOB_BYTES): BlobContent {
  const comma = url.indexOf(",");
  const header = comma < 0 ? "" : url.slice(5, comma);
  if (!/^data:/i.test(url) || comma < 0) {
    throw new BlobError("invalid_ref", `"${clipText(url, ECHO_CHARS)}" is not a data: URL (data:<type>;base64,<data>)`);
  }
  const params = header.split(";").map((p) => p.trim());
  const isBase64 = params.slice(1).some((p) => p.toLowerCase() === "base64");
  const mimeType = normalizeMimeType(params[0]) ?? "text/plain";
  const body = url.slice(comma + 1);
  // Refuse before decoding where the size is known: base64 holds 3 bytes per 4 characters (less the padding).
  const estimate = Math.floor(body.length / 4) * 3;
  if (isBase64 && estimate - 2 > maxBytes) throw tooLarge("the data: URL", estimate, maxBytes);
  let bytes: Uint8Array;
  try {
    bytes = isBase64 ? base64ToBytes(body.replace(/\s+/g, "")) : encoder.encode(decodeURIComponent(body));
  } catch (error) {
    throw new BlobError("invalid_ref", `the data: URL "${clipText(url, ECHO_CHARS)}" does not decode`, {
      cause: error,
    });
  }
  if (bytes.length > maxBytes) throw tooLarge("the data: URL", bytes.length, maxBytes);
  return { bytes, mimeType };
}

export function tooLarge(what: string, size: number, maxBytes: number): BlobError {
  return new BlobError(
    "too_large",
    `${what} holds ${size} bytes; the limit is ${maxBytes}. Pass a smaller file, or an https: URL the model can fetch`,
  );
}

/** Longest part of a value echoed in an error message (never a whole data: URL). */
export const ECHO_CHARS = 80;
