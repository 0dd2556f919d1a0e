/**
 * What `AgentImage` and `AgentAudio` share: a file held as bytes in hand, an https: URL, or a blob ref, with
 * a media type. The string form (`toString()`, `toJSON()`) is always short: the ref or the URL, which a model
 * can read and pass on to the next tool; bytes never go into text.
 *
 * Bytes that are not in hand are loaded on demand with `await media.bytes()`: a ref through a `BlobStorage`
 * (given to the constructor or to the call), a URL through the egress guard (`guardedFetch`: public https hosts
 * only unless `egress` says otherwise, each redirect re-checked, at most the blob size limit read). `toRaw()` is
 * the synchronous view of what is in hand and throws when nothing is. `store()` puts the bytes into a
 * `BlobStorage` and remembers the ref.
 */

import { clipText } from "../text_clip.ts";
import { type EgressPolicy, guardedFetch } from "../net/egress.ts";
import { BodyTooLargeError, readBodyCapped } from "../net/read_body.ts";
import { type BlobStorage, resolveRef } from "../stores/blob_store.ts";
import {
  BlobError,
  type BlobRef,
  ECHO_CHARS,
  isBlobRef,
  isDataUrl,
  MAX_BLOB_BYTES,
  normalizeMimeType,
  parseBlobRef,
  parseDataUrl,
  toDataUrl,
  tooLarge,
} from "../stores/blob_ref.ts";
import { sniffMediaType } from "../stores/media_type.ts";
import { writeFileBytes } from "./save_file.ts";

/** Bytes of an encoded file, a `data:` URL, an `http(s):` URL, or a blob ref. */
export type MediaValue = Uint8Array | ArrayBuffer | string;

export interface MediaOptions {
  /** Media type (e.g. `image/jpeg`); otherwise taken from the URL or ref, sniffed from the bytes, or defaulted. */
  mimeType?: string;
  /** Store to resolve a ref from and to `store()` bytes into, unless a call passes another. */
  blobs?: BlobStorage;
  /** Which URLs `bytes()` may fetch (default: public https hosts only; see `EgressPolicy`). */
  egress?: EgressPolicy;
}

export abstract class AgentMedia {
  #bytes: Uint8Array | undefined;
  #ref: BlobRef | undefined;
  #url: string | undefined;
  #mimeType: string | undefined;
  #blobs: BlobStorage | undefined;
  #egress: EgressPolicy | undefined;
  readonly #defaultType: string;
  readonly #label: string;

  protected constructor(value: MediaValue | AgentMedia, options: MediaOptions, defaultType: string, label: string) {
    this.#defaultType = defaultType;
    this.#label = label;
    this.#blobs = options.blobs;
    this.#egress = options.egress;
    if (value instanceof AgentMedia) {
      [this.#bytes, this.#ref, this.#url, this.#mimeType] = [value.#bytes, value.#ref, value.#url, value.#mimeType];
      this.#blobs ??= value.#blobs;
      this.#egress ??= value.#egress;
    } else if (value instanceof Uint8Array) {
      this.#bytes = value;
    } else if (value instanceof ArrayBuffer) {
      this.#bytes = new Uint8Array(value);
    } else if (isBlobRef(value)) {
      this.#ref = value;
      this.#mimeType = parseBlobRef(value).mimeType;
    } else if (isDataUrl(value)) {
      const content = parseDataUrl(value, options.blobs?.maxBytes ?? MAX_BLOB_BYTES);
      [this.#bytes, this.#mimeType] = [content.bytes, content.mimeType];
    } else if (typeof value === "string" && /^https?:\/\//i.test(value)) {
      this.#url = value;
    } else {
      const shown = typeof value === "string"
        ? `"${clipText(value, ECHO_CHARS)}"`
        : Object.prototype.toString.call(value);
      throw new TypeError(
        `${label} takes bytes (Uint8Array), a data: or https: URL, or a blob:sha256: ref; got ${shown}`,
      );
    }
    const explicit = options.mimeType === undefined ? undefined : normalizeMimeType(options.mimeType);
    if (options.mimeType !== undefined && !explicit) throw new TypeError(`invalid media type "${options.mimeType}"`);
    this.#mimeType = explicit ?? this.#mimeType;
  }

  /** The media type: given, from the URL or ref, sniffed from the bytes in hand, or the kind's default. */
  get mimeType(): string {
    return this.#mimeType ?? (this.#bytes && sniffMediaType(this.#bytes)) ?? this.#defaultType;
  }

  /** The blob ref, once there is one (given, or after `store()`). */
  get ref(): BlobRef | undefined {
    return this.#ref;
  }

  /** The http(s): URL this was made from, if any. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Whether the bytes are in hand (`toRaw()` works without `await bytes()`). */
  get loaded(): boolean {
    return this.#bytes !== undefined;
  }

  /** The bytes in hand (for `toRaw()`); throws when they still have to be loaded with `await bytes()`. */
  protected bytesInHand(): Uint8Array {
    if (this.#bytes) return this.#bytes;
    throw new Error(`${this.#label} ${this.toString()} is not loaded; call await bytes() first`);
  }

  /** The encoded file's bytes, loading them once from the blob store or the URL when not in hand. */
  async bytes(blobs?: BlobStorage): Promise<Uint8Array> {
    if (this.#bytes) return this.#bytes;
    if (this.#ref) {
      const content = await resolveRef(this.#ref, blobs ?? this.#blobs);
      this.#bytes = content.bytes;
      if (content.mimeType !== "application/octet-stream") this.#mimeType ??= content.mimeType;
      return content.bytes;
    }
    const response = await guardedFetch(this.#url!, {}, this.#egress);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`${this.#label}: fetching ${clipText(this.#url!, ECHO_CHARS)} answered ${response.status}`);
    }
    const maxBytes = (blobs ?? this.#blobs)?.maxBytes ?? MAX_BLOB_BYTES;
    this.#bytes = await readBodyCapped(response, maxBytes).catch((error) => {
      throw error instanceof BodyTooLargeError
        ? tooLarge(clipText(this.#url!, ECHO_CHARS), error.size, maxBytes)
        : error;
    });
    const header = normalizeMimeType(response.headers.get("content-type") ?? "");
    this.#mimeType ??= sniffMediaType(this.#bytes) ?? header;
    return this.#bytes;
  }

  /** Puts the bytes into the blob store (once) and returns the ref; afterwards `toString()` gives that ref. */
  async store(blobs?: BlobStorage): Promise<BlobRef> {
    if (this.#ref) return this.#ref;
    const target = blobs ?? this.#blobs;
    if (!target) throw new BlobError("no_store", `${this.#label}.store() needs a blob store, and none was given`);
    this.#ref = await target.put(await this.bytes(), this.mimeType);
    return this.#ref;
  }

  /** A `data:` URL of the content (loads the bytes if needed). */
  async toDataUrl(blobs?: BlobStorage): Promise<string> {
    return toDataUrl(await this.bytes(blobs), this.mimeType);
  }

  /** Writes the encoded file as it is (no re-encoding) on runtimes with files; throws elsewhere. */
  async save(path: string, blobs?: BlobStorage): Promise<void> {
    await writeFileBytes(path, await this.bytes(blobs), this.#label);
  }

  /** The ref or the URL; bytes that were never stored show as a short description (store() them first). */
  toString(): string {
    if (this.#ref) return this.#ref;
    if (this.#url) return this.#url;
    return `[${this.#label} ${this.mimeType}, ${this.#bytes!.length} bytes, not stored]`;
  }

  toJSON(): string {
    return this.toString();
  }
}
