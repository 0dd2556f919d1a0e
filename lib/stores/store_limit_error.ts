/**
 * The one error a `StateStore` throws when a write does not fit: the value is over the store's
 * `maxValueBytes`, or (MemoryStore) the store's total would go over its memory cap. Thrown before anything is
 * written, so the store is unchanged. It carries what callers need to answer precisely: the run layer turns it
 * into 413 `task_too_large` at creation and 507 `state_too_large` at a step's commit. `code` is its `kind`; a full
 * store is `retryable` (room may come back as entries expire).
 */

import { SmolstepError } from "../errors.ts";

export type StoreLimitKind = "value_too_large" | "store_full";

export class StoreLimitError extends SmolstepError {
  override name = "StoreLimitError";
  declare readonly code: StoreLimitKind;
  constructor(
    /** `value_too_large`: one value over `limit`; `store_full`: the store's total would go over `limit`. */
    readonly kind: StoreLimitKind,
    /** UTF-8 bytes of the refused value. */
    readonly bytes: number,
    /** The limit it met, in bytes. */
    readonly limit: number,
    message: string,
  ) {
    super(message, { code: kind, retryable: kind === "store_full" });
  }
}

/** UTF-8 length of `text`, counted without allocating (lone surrogates count 3, as `TextEncoder` writes U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // the pair (2 code units) is 4 bytes
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Throws `StoreLimitError("value_too_large")` when `value` is over `limit` bytes of UTF-8; returns its bytes. */
export function checkValueSize(store: string, key: string, value: string | Uint8Array, limit: number): number {
  const bytes = typeof value === "string" ? utf8Length(value) : value.length;
  if (bytes > limit) {
    throw new StoreLimitError(
      "value_too_large",
      bytes,
      limit,
      `${store}: value for "${key.slice(0, 200)}" is ${bytes} bytes of UTF-8; the limit is ${limit}`,
    );
  }
  return bytes;
}
