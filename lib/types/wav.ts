/**
 * WAV (RIFF) encoding of PCM samples, and decoding of the common WAV variants, so `AgentAudio` can go between
 * raw samples (what transformers-agents' `to_raw` gives as a tensor; here a `Float32Array` in [-1, 1]) and a
 * file any player or speech model accepts.
 */

export interface PcmAudio {
  /** Samples in [-1, 1], channels interleaved. */
  samples: Float32Array;
  samplerate: number;
  channels: number;
}

/** A 16-bit PCM WAV file of `samples` (interleaved when `channels` > 1); values outside [-1, 1] are clipped. */
export function encodeWav(samples: Float32Array, samplerate: number, channels = 1): Uint8Array {
  if (!Number.isInteger(samplerate) || samplerate <= 0) throw new RangeError(`invalid samplerate ${samplerate}`);
  if (!Number.isInteger(channels) || channels <= 0) throw new RangeError(`invalid channel count ${channels}`);
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const text = (offset: number, value: string) => {
    for (let i = 0; i < value.length; i++) out[offset + i] = value.charCodeAt(i);
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, samplerate, true);
  view.setUint32(28, samplerate * channels * 2, true); // bytes per second
  view.setUint16(32, channels * 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] || 0));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return out;
}

/** Samples of a WAV file in 8/16/24/32-bit integer PCM or 32-bit float; throws `TypeError` for anything else. */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new TypeError("not a WAV file");
  let format = 0, channels = 0, samplerate = 0, bits = 0;
  for (let offset = 12; offset + 8 <= bytes.length;) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt " && size >= 16) {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      samplerate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
    } else if (id === "data") {
      if (!channels) throw new TypeError("WAV data chunk before its fmt chunk");
      const end = Math.min(bytes.length, body + size);
      return { samples: readSamples(view, body, end, format, bits), samplerate, channels };
    }
    offset = body + size + (size % 2); // chunks are word-aligned
  }
  throw new TypeError("WAV file without a data chunk");
}

function readSamples(view: DataView, start: number, end: number, format: number, bits: number): Float32Array {
  const read = sampleReader(view, format, bits);
  if (!read) throw new TypeError(`unsupported WAV encoding (format ${format}, ${bits} bits per sample)`);
  const width = bits / 8;
  const out = new Float32Array(Math.floor((end - start) / width));
  for (let i = 0; i < out.length; i++) out[i] = read(start + i * width);
  return out;
}

/** Reads one little-endian sample at a byte offset, scaled to [-1, 1]. Format 1 is integer PCM, 3 is float. */
function sampleReader(view: DataView, format: number, bits: number): ((at: number) => number) | undefined {
  if (format === 3 && bits === 32) return (at) => view.getFloat32(at, true);
  if (format !== 1) return undefined;
  if (bits === 8) return (at) => (view.getUint8(at) - 128) / 128;
  if (bits === 16) return (at) => view.getInt16(at, true) / 0x8000;
  if (bits === 32) return (at) => view.getInt32(at, true) / 0x80000000;
  if (bits === 24) {
    // Three bytes, least significant first: shift into the top of an int32 and back to sign-extend.
    return (at) =>
      ((view.getUint8(at + 2) << 24 | view.getUint8(at + 1) << 16 | view.getUint8(at) << 8) >> 8) / 0x800000;
  }
  return undefined;
}
