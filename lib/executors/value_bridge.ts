/**
 * The host side of the value bridge. Only strings cross between host and sandbox: values travel as JSON inside a
 * `{"v": ...}` envelope (so `undefined` survives), and `Uint8Array`s as `{"\u0000bytes": "<base64>"}`. Nothing
 * the sandbox sends can become anything but plain data on the host, and the host never hands the sandbox an object.
 */

import { base64ToBytes, encodeBase64 } from "../base64.ts";

/** Key marking an encoded `Uint8Array` (a NUL-prefixed key no real data uses). */
export const BYTES_TAG = "\u0000bytes";

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BYTES_TAG]: encodeBase64(value) };
  if (typeof value === "bigint") throw new TypeError("BigInt values cannot cross into the sandbox");
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const tagged = (value as Record<string, unknown>)[BYTES_TAG];
    if (typeof tagged === "string" && Object.keys(value).length === 1) return base64ToBytes(tagged);
  }
  return value;
}

/** JSON text of host data, with `Uint8Array`s tagged (as persisted variables keep them). */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** Parses JSON text from the sandbox, decoding tagged `Uint8Array`s. */
export function parseJson(text: string): unknown {
  return JSON.parse(text, reviver);
}

/** Decodes an envelope the sandbox produced; malformed input throws. */
export function decodeFromSandbox(json: string): unknown {
  const parsed = JSON.parse(json, reviver);
  if (!parsed || typeof parsed !== "object") throw new TypeError("malformed value from the sandbox");
  return (parsed as { v?: unknown }).v;
}

/**
 * Message of a host error as plain text: nothing else of the error crosses into the sandbox (no properties,
 * no cause, no stack). A thrown non-error is not serialized, since it may hold host data.
 */
export function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  const message = error && typeof error === "object" ? (error as { message?: unknown }).message : undefined;
  if (typeof message === "string") return message || (error as { name?: string }).name || "Error";
  return `a non-error value was thrown (${error === null ? "null" : typeof error})`;
}

/** The envelope answering a tool or host-module call that succeeded (or a failure if the value is not data). */
export function resultEnvelope(value: unknown): string {
  try {
    return JSON.stringify({ ok: true, v: value }, replacer);
  } catch (error) {
    return failureEnvelope(`its result is not JSON data (${errorMessage(error)})`);
  }
}

/** The envelope answering a call that failed: the message only. */
export function failureEnvelope(message: string): string {
  return JSON.stringify({ ok: false, error: message });
}
