/**
 * Audio passed between tools, the model and the caller. transformers-agents' `AgentAudio.to_raw()` gives a
 * tensor of samples; here raw samples are a `Float32Array` in [-1, 1]. Built from samples, the audio is held
 * as a 16-bit PCM WAV file (what `bytes()`, `store()` and `save()` use) and `toRaw()` gives the samples back;
 * built from an encoded file, `toRaw()` gives its bytes, and `samples()` decodes a WAV file.
 */

import type { BlobStorage } from "../stores/blob_store.ts";
import { AgentMedia, type MediaOptions, type MediaValue } from "./agent_media.ts";
import { decodeWav, encodeWav } from "./wav.ts";

export interface AudioOptions extends MediaOptions {
  /** Samples per second; default 16,000 (as in transformers-agents). A decoded WAV header takes precedence. */
  samplerate?: number;
}

export class AgentAudio extends AgentMedia {
  #samplerate: number;
  #samples: Float32Array | undefined;

  /** Takes mono samples (`Float32Array`), an encoded file, a data:/https: URL or a blob ref. */
  constructor(value: MediaValue | Float32Array | AgentAudio, options: AudioOptions = {}) {
    const samplerate = options.samplerate ?? (value instanceof AgentAudio ? value.samplerate : 16_000);
    const fromSamples = value instanceof Float32Array;
    super(
      fromSamples ? encodeWav(value, samplerate) : value,
      fromSamples ? { ...options, mimeType: "audio/wav" } : options,
      "audio/wav",
      "AgentAudio",
    );
    this.#samples = fromSamples ? value : value instanceof AgentAudio ? value.#samples : undefined;
    this.#samplerate = samplerate;
  }

  /** Samples per second. */
  get samplerate(): number {
    return this.#samplerate;
  }

  /** The samples this was built from, else the encoded file in hand; throws when nothing is loaded yet. */
  toRaw(): Float32Array | Uint8Array {
    return this.#samples ?? this.bytesInHand();
  }

  /** Samples in [-1, 1] (channels interleaved), decoding a WAV file when needed; other formats throw. */
  async samples(blobs?: BlobStorage): Promise<Float32Array> {
    if (this.#samples) return this.#samples;
    const pcm = decodeWav(await this.bytes(blobs));
    this.#samplerate = pcm.samplerate;
    this.#samples = pcm.samples;
    return pcm.samples;
  }
}
