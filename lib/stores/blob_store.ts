/**
 * Content-addressed storage of bytes and text, for values too large to sit inline in a run's state (images,
 * audio, long observations). Content goes in once and comes back by a short ref; see `./blob_ref.ts`
 * for the ref format (`blob:sha256:<hex>[;type=<media type>]`).
 *
 * `BlobStore` keeps blobs in any `StateStore` under `<prefix><sha256 hex>` (default `blobs/`). A stored value
 * is `b:<base64>` for bytes or `t:<text>` for text given as a string. Writes use `expectedVersion: null`, so
 * identical content is written once; with `expireIn`, a repeated put rewrites the (identical) value so the
 * expiry counts from the latest put. Reads check the digest, so a damaged value is reported, never returned.
 *
 * Ceiling: {@link MAX_BLOB_BYTES} (512 KiB of raw content) by default, which keeps the base64 value under
 * `DenoKvStore`'s 720,000-byte limit. Over Workers KV or a Durable Object (25 MiB values) `maxBytes` can go up
 * to ~18 MiB. Larger content throws `BlobError("too_large")` before anything is written.
 *
 * Stateless (signed-token) mode has no server store. There, either keep blobs inside the state with
 * `MemoryBlobStore` (serializable with `toJSON()` / `fromJSON()`, capped in total), or use no store: `data:`
 * URLs still resolve (up to the same size cap), and a `blob:` ref is refused with `BlobError("no_store")`.
 *
 * Over Workers KV (eventually consistent), a blob written in one location may read as not found elsewhere for
 * up to a minute; content never changes under a ref, so a stale read is never a wrong one.
 */

import { base64ToBytes, encodeBase64 } from "../base64.ts";
import type { StateStore } from "./state_store.ts";
import { StoreLimitError } from "./store_limit_error.ts";
import {
  type BlobContent,
  BlobError,
  type BlobRef,
  contentBytes,
  formatBlobRef,
  isDataUrl,
  MAX_BLOB_BYTES,
  parseBlobRef,
  parseDataUrl,
  sha256Hex,
  toDataUrl,
  tooLarge,
} from "./blob_ref.ts";
import { sniffMediaType } from "./media_type.ts";

/** What agents and agent types need from blob storage; both stores below implement it. */
export interface BlobStorage {
  /** Largest content (raw bytes) `put` accepts. */
  readonly maxBytes: number;
  /** Stores the content (strings as UTF-8) and returns its ref; the type hint defaults to a sniffed one. */
  put(content: Uint8Array | string, mimeType?: string): Promise<BlobRef>;
  /** Bytes and media type of a blob ref or a `data:` URL. */
  resolve(ref: string): Promise<BlobContent>;
  /** The content of a ref decoded as UTF-8 (for observations stored by reference). */
  resolveText(ref: string): Promise<string>;
  /** A `data:` URL of a ref's content, e.g. for an image part sent to a vision model. */
  toDataUrl(ref: string): Promise<string>;
}

/** Resolves a `data:` URL anywhere, and a blob ref through `blobs`; without `blobs` a ref is refused clearly. */
export async function resolveRef(ref: string, blobs?: BlobStorage): Promise<BlobContent> {
  if (blobs) return await blobs.resolve(ref);
  if (isDataUrl(ref)) return parseDataUrl(ref);
  parseBlobRef(ref); // throws invalid_ref for anything that is not a ref
  throw new BlobError(
    "no_store",
    `${ref} cannot be resolved: this run has no blob store (stateless mode). Pass images and audio as data: ` +
      `URLs of at most ${MAX_BLOB_BYTES} bytes, or as https: URLs`,
  );
}

const decoder = new TextDecoder();

/** Shared put / resolve logic; subclasses only read and write one encoded value by digest. */
abstract class ContentAddressedBlobs implements BlobStorage {
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  protected abstract read(sha256: string): Promise<string | null>;
  protected abstract write(sha256: string, encoded: string, size: number): Promise<void>;

  async put(content: Uint8Array | string, mimeType?: string): Promise<BlobRef> {
    const bytes = contentBytes(content);
    if (bytes.length > this.maxBytes) throw tooLarge("the blob", bytes.length, this.maxBytes);
    const sha256 = await sha256Hex(bytes);
    const encoded = typeof content === "string" ? `t:${content}` : `b:${encodeBase64(bytes)}`;
    await this.write(sha256, encoded, bytes.length);
    const type = mimeType ?? (typeof content === "string" ? "text/plain" : sniffMediaType(bytes));
    return formatBlobRef(sha256, type);
  }

  async resolve(ref: string): Promise<BlobContent> {
    if (isDataUrl(ref)) return parseDataUrl(ref, this.maxBytes);
    const { sha256, mimeType } = parseBlobRef(ref);
    const encoded = await this.read(sha256);
    if (encoded === null) {
      throw new BlobError("not_found", `${ref} is not in the blob store (never stored here, or expired)`);
    }
    const bytes = decodeStored(encoded, ref);
    if (await sha256Hex(bytes) !== sha256) {
      throw new BlobError("corrupt", `the stored content of ${ref} does not match its digest`);
    }
    const fallback = encoded.startsWith("t:") ? "text/plain" : "application/octet-stream";
    return { bytes, mimeType: mimeType ?? sniffMediaType(bytes) ?? fallback };
  }

  async resolveText(ref: string): Promise<string> {
    return decoder.decode((await this.resolve(ref)).bytes);
  }

  async toDataUrl(ref: string): Promise<string> {
    if (isDataUrl(ref)) return ref;
    const { bytes, mimeType } = await this.resolve(ref);
    return toDataUrl(bytes, mimeType);
  }
}

function decodeStored(encoded: string, ref: string): Uint8Array {
  if (encoded.startsWith("t:")) return contentBytes(encoded.slice(2));
  if (encoded.startsWith("b:")) {
    try {
      return base64ToBytes(encoded.slice(2));
    } catch (error) {
      throw new BlobError("corrupt", `the stored content of ${ref} is not valid base64`, { cause: error });
    }
  }
  throw new BlobError("corrupt", `the stored content of ${ref} has an unknown encoding`);
}

export interface BlobStoreOptions {
  /** Key prefix in the state store; default `blobs/`. */
  prefix?: string;
  /** Largest content in raw bytes; default {@link MAX_BLOB_BYTES}. Raise it only over stores that take more. */
  maxBytes?: number;
  /** Seconds after which blobs may be dropped (as `PutOptions.expireIn`); keep it at least the runs' lifetime. */
  expireIn?: number;
}

/** Blobs kept in a `StateStore` (Deno KV, Workers KV, Durable Object, memory). */
export class BlobStore extends ContentAddressedBlobs {
  readonly #store: StateStore;
  readonly #prefix: string;
  readonly #expireIn: number | undefined;

  constructor(store: StateStore, options: BlobStoreOptions = {}) {
    super(options.maxBytes ?? MAX_BLOB_BYTES);
    this.#store = store;
    this.#prefix = options.prefix ?? "blobs/";
    this.#expireIn = options.expireIn;
  }

  protected async read(sha256: string): Promise<string | null> {
    return (await this.#store.get(this.#prefix + sha256))?.value ?? null;
  }

  protected async write(sha256: string, encoded: string, size: number): Promise<void> {
    const key = this.#prefix + sha256;
    const expireIn = this.#expireIn;
    try {
      const first = await this.#store.put(key, encoded, { expectedVersion: null, expireIn });
      // Already there: same digest, same content. Rewrite only to push the expiry out.
      if (!first.ok && expireIn !== undefined) await this.#store.put(key, encoded, { expireIn });
    } catch (error) {
      if (error instanceof StoreLimitError || error instanceof RangeError) {
        throw new BlobError("too_large", `the blob (${size} bytes) is too large for the state store`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

export interface MemoryBlobStoreOptions {
  /** Largest single content in raw bytes; default {@link MAX_BLOB_BYTES}. */
  maxBytes?: number;
  /** Largest sum of all contents in raw bytes; default 1 MiB (the blobs travel inside a signed state). */
  maxTotalBytes?: number;
}

/**
 * Blobs in a plain object that can travel with a run: `toJSON()` gives `{ <sha256>: <stored value> }` to keep
 * in a (signed) state, `MemoryBlobStore.fromJSON(record)` restores it. For stateless mode, tests and local use.
 */
export class MemoryBlobStore extends ContentAddressedBlobs {
  readonly maxTotalBytes: number;
  readonly #entries = new Map<string, { encoded: string; size: number }>();
  #total = 0;

  constructor(options: MemoryBlobStoreOptions = {}) {
    super(options.maxBytes ?? MAX_BLOB_BYTES);
    this.maxTotalBytes = options.maxTotalBytes ?? 1_048_576;
  }

  /** Restores blobs saved with `toJSON()`; refuses malformed entries and contents over the caps. */
  static fromJSON(record: Record<string, string>, options: MemoryBlobStoreOptions = {}): MemoryBlobStore {
    const store = new MemoryBlobStore(options);
    for (const [sha256, encoded] of Object.entries(record)) {
      if (!/^[0-9a-f]{64}$/.test(sha256) || typeof encoded !== "string") {
        throw new BlobError("corrupt", `saved blobs hold a malformed entry "${sha256.slice(0, 80)}"`);
      }
      const size = decodeStored(encoded, formatBlobRef(sha256)).length;
      if (size > store.maxBytes) throw tooLarge(`the saved blob ${sha256}`, size, store.maxBytes);
      store.#add(sha256, encoded, size);
    }
    return store;
  }

  /** Sum of the stored contents in raw bytes. */
  get totalBytes(): number {
    return this.#total;
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(Array.from(this.#entries, ([sha256, entry]) => [sha256, entry.encoded]));
  }

  protected read(sha256: string): Promise<string | null> {
    return Promise.resolve(this.#entries.get(sha256)?.encoded ?? null);
  }

  protected write(sha256: string, encoded: string, size: number): Promise<void> {
    if (!this.#entries.has(sha256)) this.#add(sha256, encoded, size);
    return Promise.resolve();
  }

  #add(sha256: string, encoded: string, size: number): void {
    if (this.#total + size > this.maxTotalBytes) {
      throw new BlobError(
        "too_large",
        `storing ${size} more bytes would bring the run's blobs to ${this.#total + size} bytes; the limit is ` +
          `${this.maxTotalBytes}. Pass large files as https: URLs`,
      );
    }
    this.#entries.set(sha256, { encoded, size });
    this.#total += size;
  }
}
