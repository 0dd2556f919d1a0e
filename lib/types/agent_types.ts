/**
 * Agent types (transformers-agents' `agent_types`): wrappers for text, images and audio passed between tools,
 * the model and the caller, with the blob refs that keep large content out of run states.
 *
 *   AgentText    a `String`: toRaw(), toString(), toJSON() give the plain string
 *   AgentImage   bytes / data: URL / https: URL / blob ref; bytes(), toRaw(), toImagePart(), store(), save()
 *   AgentAudio   the same, plus Float32Array samples, samplerate (default 16,000), samples()
 */

export { AgentText } from "./agent_text.ts";
export { AgentMedia, type MediaOptions, type MediaValue } from "./agent_media.ts";
export { AgentImage } from "./agent_image.ts";
export { AgentAudio, type AudioOptions } from "./agent_audio.ts";
export { type AgentType, isAgentType, unwrapAgentValue, unwrapToolArguments, wrapToolOutput } from "./agent_values.ts";
export {
  type BlobContent,
  BlobError,
  type BlobErrorCode,
  type BlobRef,
  formatBlobRef,
  isBlobRef,
  isDataUrl,
  MAX_BLOB_BYTES,
  parseBlobRef,
  parseDataUrl,
  toDataUrl,
} from "../stores/blob_ref.ts";
export { sniffMediaType } from "../stores/media_type.ts";
export { decodeWav, encodeWav, type PcmAudio } from "./wav.ts";
