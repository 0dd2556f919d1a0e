/** Image and audio arguments as bytes: agents pass bytes (refs already resolved) or an https: URL the tool fetches. */

import type { EgressPolicy } from "../net/egress.ts";
import { AgentAudio } from "../types/agent_audio.ts";
import { AgentImage } from "../types/agent_image.ts";
import { AgentMedia, type MediaValue } from "../types/agent_media.ts";

/** The bytes of an image or audio argument (bytes, an agent value, a data: or https: URL through the egress guard). */
export async function mediaBytes(value: unknown, kind: "image" | "audio", egress?: EgressPolicy): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof AgentMedia) return await value.bytes();
  const media = kind === "image"
    ? new AgentImage(value as MediaValue, { egress })
    : new AgentAudio(value as MediaValue, { egress });
  return await media.bytes();
}

/** A `Blob` over the bytes (what `@huggingface/inference` sends). */
export function toBlob(bytes: Uint8Array, type = ""): Blob {
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
}
