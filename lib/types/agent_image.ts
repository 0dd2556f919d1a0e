/**
 * An image passed between tools, the model and the caller. transformers-agents' `AgentImage` wraps a PIL image;
 * this one wraps the encoded file (PNG, JPEG, ...) and never decodes pixels. See `AgentMedia` for the value forms
 * and for `bytes()`, `store()`, `toDataUrl()`, `save()` and `toString()`.
 */

import type { ImagePart } from "../models/chat_message.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import { AgentMedia, type MediaOptions, type MediaValue } from "./agent_media.ts";

export class AgentImage extends AgentMedia {
  /** The media type defaults to `image/png` when neither given, nor in the URL or ref, nor recognisable. */
  constructor(value: MediaValue | AgentImage, options: MediaOptions = {}) {
    super(value, options, "image/png", "AgentImage");
  }

  /** The encoded image in hand; throws when it must first be loaded with `await image.bytes()`. */
  toRaw(): Uint8Array {
    return this.bytesInHand();
  }

  /**
   * A chat-message image part for a vision model: an https: URL is passed as it is (the provider fetches it);
   * anything else becomes a `data:` URL.
   */
  async toImagePart(blobs?: BlobStorage): Promise<ImagePart> {
    return { type: "image", image: this.url ?? await this.toDataUrl(blobs) };
  }
}
