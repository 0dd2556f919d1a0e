import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { encodeBase64 } from "../../base64.ts";
import type { AgentState } from "../../memory/agent_state.ts";
import { type BlobStorage, resolveRef } from "../../stores/blob_store.ts";
import { isBlobRef, isDataUrl, parseBlobRef } from "../../stores/blob_ref.ts";

type Content = CallToolResult["content"][number];

/** Media values found in an answer become at most this many image/audio items (the rest stay references). */
const MAX_MEDIA_ITEMS = 8;
const MEDIA_TYPE = /^(image|audio)\//;

/**
 * An answer as MCP content: a media reference (`blob:sha256:...;type=image/png`, or a `data:` URL) becomes image or
 * audio content, a string text, anything else its JSON as text and, for objects, `structuredContent` too; media
 * references inside a structured answer are added as image/audio items after the text.
 */
export async function answerContent(answer: unknown, blobs: BlobStorage | undefined): Promise<CallToolResult> {
  if (typeof answer === "string") {
    const media = await mediaContent(answer, blobs);
    return { content: [media ?? { type: "text", text: answer }] };
  }
  const text = JSON.stringify(answer ?? null);
  const content: Content[] = [{ type: "text", text }];
  for (const ref of mediaRefs(answer).slice(0, MAX_MEDIA_ITEMS)) {
    const media = await mediaContent(ref, blobs);
    if (media) content.push(media);
  }
  const structured = answer !== null && typeof answer === "object" && !Array.isArray(answer);
  return { content, ...(structured ? { structuredContent: answer as Record<string, unknown> } : {}) };
}

/** How a run that ended without an answer (or paused) reads as a tool result: `isError` and why. */
export function endedWithoutAnswer(state: AgentState, runId: string | undefined): CallToolResult {
  const where = runId ? ` (run ${runId})` : "";
  const message = state.status === "awaiting_input"
    ? `The agent paused for input${where}: ${JSON.stringify(state.pendingInput ?? null)}. Answer it with ` +
      `POST /v1/runs/${runId ?? "{runId}"}/input; MCP cannot answer a pause.`
    : `The run ended '${state.status}'${where}: ${state.error?.message ?? "no final answer"}.`;
  return { content: [{ type: "text", text: message }], isError: true };
}

async function mediaContent(value: string, blobs: BlobStorage | undefined): Promise<Content | undefined> {
  const declared = isBlobRef(value) ? parseBlobRef(value).mimeType : dataUrlType(value);
  if (!declared || !MEDIA_TYPE.test(declared)) return undefined;
  try {
    const { bytes, mimeType } = await resolveRef(value, blobs);
    const type = (mimeType ?? declared).startsWith("audio/") ? "audio" : "image";
    return { type, data: encodeBase64(bytes), mimeType: mimeType ?? declared };
  } catch {
    return undefined; // expired or unreadable: the reference stays in the text
  }
}

function dataUrlType(value: string): string | undefined {
  return isDataUrl(value) ? value.slice(5, value.search(/[;,]/)).toLowerCase() : undefined;
}

function mediaRefs(value: unknown, found: string[] = [], depth = 0): string[] {
  if (depth > 8 || found.length >= MAX_MEDIA_ITEMS) return found;
  if (typeof value === "string") {
    if (isBlobRef(value) || isDataUrl(value)) found.push(value);
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) mediaRefs(item, found, depth + 1);
  }
  return found;
}
