/**
 * The seam between tools and agent types: tool outputs are wrapped by the tool's `outputType` (smolagents'
 * `handle_agent_output_types`), and tool inputs of type image/audio that arrive as refs or agent types are
 * turned back into bytes (`handle_agent_input_types`).
 */

import { type BlobStorage, resolveRef } from "../stores/blob_store.ts";
import type { ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";
import { AgentAudio } from "./agent_audio.ts";
import { AgentImage } from "./agent_image.ts";
import { AgentMedia, type MediaValue } from "./agent_media.ts";
import { AgentText } from "./agent_text.ts";
import { isBlobRef, isDataUrl, parseDataUrl } from "../stores/blob_ref.ts";
import { sniffMediaType } from "../stores/media_type.ts";

export type AgentType = AgentText | AgentImage | AgentAudio;

export function isAgentType(value: unknown): value is AgentType {
  return value instanceof AgentText || value instanceof AgentImage || value instanceof AgentAudio;
}

/**
 * Wraps a raw tool output by the tool's output type: "string" gives `AgentText` (non-strings as JSON), "image"
 * and "audio" give `AgentImage` / `AgentAudio` (audio also from `Float32Array` samples). With `blobs`, bytes
 * are stored and the wrapper holds the ref, so its string form (the observation) is the ref; without, bytes
 * stay in hand and print as a short "not stored" description. "any" (or no type) wraps by what the value is:
 * strings, agent types, and bytes recognised as an image or audio file; everything else is returned as it is.
 * Throws `TypeError` for an image/audio output that is no file, and `BlobError` when storing fails (too large).
 */
export async function wrapToolOutput(
  value: unknown,
  outputType?: ToolInputType | string,
  blobs?: BlobStorage,
): Promise<unknown> {
  switch (outputType) {
    case "string":
      return value instanceof AgentText ? value : new AgentText(asText(value));
    case "image":
      return await stored(value instanceof AgentImage ? value : new AgentImage(value as MediaValue, { blobs }), blobs);
    case "audio":
      return await stored(
        value instanceof AgentAudio ? value : new AgentAudio(value as MediaValue | Float32Array, { blobs }),
        blobs,
      );
    case "any":
    case undefined:
      return await wrapByValue(value, blobs);
    default:
      return value;
  }
}

async function wrapByValue(value: unknown, blobs?: BlobStorage): Promise<unknown> {
  if (typeof value === "string") return new AgentText(value);
  if (isAgentType(value)) return value instanceof AgentText ? value : await stored(value, blobs);
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const type = sniffMediaType(value instanceof Uint8Array ? value : new Uint8Array(value)) ?? "";
    if (type.startsWith("image/")) return await stored(new AgentImage(value, { blobs }), blobs);
    if (type.startsWith("audio/")) return await stored(new AgentAudio(value, { blobs }), blobs);
  }
  return value;
}

async function stored<T extends AgentMedia>(media: T, blobs?: BlobStorage): Promise<T> {
  if (blobs && !media.ref && media.loaded) await media.store(blobs);
  return media;
}

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function acceptsMedia(type: ToolInputType | ToolInputType[] | undefined): { refs: boolean; dataUrls: boolean } {
  if (type === undefined) return { refs: true, dataUrls: false };
  const types = Array.isArray(type) ? type : [type];
  const media = types.includes("image") || types.includes("audio");
  return { refs: media || types.includes("any"), dataUrls: media };
}

/**
 * A tool input as the tool should receive it. Agent types give their raw value: `AgentText` its string,
 * `AgentImage` / `AgentAudio` the encoded file's bytes (`Uint8Array`, loaded if needed). A blob ref string is
 * resolved to its bytes when the input's type is image, audio or any (or not given); a `data:` URL is decoded
 * for image and audio inputs. https: URLs stay strings: the tool decides whether to fetch what the model named.
 * Other values are returned as they are. Throws `BlobError` for refs that cannot be resolved (`no_store` in
 * stateless mode, `not_found` after expiry): report it to the model as a tool-call error.
 */
export async function unwrapAgentValue(
  value: unknown,
  blobs?: BlobStorage,
  inputType?: ToolInputType | ToolInputType[],
): Promise<unknown> {
  if (value instanceof AgentText) return value.toRaw();
  if (value instanceof AgentMedia) return await value.bytes(blobs);
  if (typeof value !== "string") return value;
  const accepts = acceptsMedia(inputType);
  if (accepts.refs && isBlobRef(value)) return (await resolveRef(value, blobs)).bytes;
  if (accepts.dataUrls && isDataUrl(value)) return parseDataUrl(value, blobs?.maxBytes).bytes;
  return value;
}

/** Whether {@link unwrapAgentValue} could give something else than `value` (an agent type, a ref, a data URL). */
function mayNeedUnwrap(value: unknown, inputType?: ToolInputType | ToolInputType[]): boolean {
  if (value instanceof AgentText || value instanceof AgentMedia) return true;
  if (typeof value !== "string") return false;
  const accepts = acceptsMedia(inputType);
  return (accepts.refs && isBlobRef(value)) || (accepts.dataUrls && isDataUrl(value));
}

/** {@link unwrapAgentValue} over a tool call's arguments, each by its declared input type. */
export async function unwrapToolArguments(
  args: Record<string, unknown>,
  inputs: ToolInputs,
  blobs?: BlobStorage,
): Promise<Record<string, unknown>> {
  // Most calls pass plain data: nothing to resolve, so no copy and no promise per argument.
  if (!Object.keys(args).some((name) => mayNeedUnwrap(args[name], inputs[name]?.type))) return args;
  const entries = await Promise.all(
    Object.entries(args).map(async ([name, value]) => [name, await unwrapAgentValue(value, blobs, inputs[name]?.type)]),
  );
  return Object.fromEntries(entries);
}
