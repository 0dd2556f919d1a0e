import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AgentToolExecutionError } from "../errors.ts";
import { base64ToBytes } from "../base64.ts";
import { AgentAudio } from "../types/agent_audio.ts";
import { AgentImage } from "../types/agent_image.ts";
import { AgentText } from "../types/agent_text.ts";

type Content = CallToolResult["content"][number];

/**
 * An MCP tool result as agent values: text is `AgentText`, images and audio (inline base64) are `AgentImage` /
 * `AgentAudio`, an embedded resource is its text or, for a blob, media by its MIME type (other blobs: a line naming
 * the resource), a resource link is a line naming its URI. One content item is that value; several text items are
 * one `AgentText` joined by newlines; a mix with media is an array of values. With `structured`, a result's
 * `structuredContent` is returned as it is. An `isError` result throws `AgentToolExecutionError` with its text, so
 * the model sees what the server said.
 */
export function agentValueOfResult(toolName: string, result: CallToolResult, structured = false): unknown {
  if (result.isError) {
    const message = result.content.map(textOf).join("\n") || "the server reported an error";
    throw new AgentToolExecutionError(`MCP tool '${toolName}' failed: ${message}`);
  }
  if (structured && result.structuredContent !== undefined) return result.structuredContent;
  const values: unknown[] = result.content.map(valueOf);
  if (values.length === 0) {
    return result.structuredContent === undefined ? new AgentText("") : result.structuredContent;
  }
  if (values.length === 1) return values[0];
  if (values.every((value: unknown) => value instanceof AgentText)) return new AgentText(values.join("\n"));
  return values;
}

function valueOf(content: Content): AgentText | AgentImage | AgentAudio {
  switch (content.type) {
    case "text":
      return new AgentText(content.text);
    case "image":
      return new AgentImage(base64ToBytes(content.data), { mimeType: content.mimeType });
    case "audio":
      return new AgentAudio(base64ToBytes(content.data), { mimeType: content.mimeType });
    case "resource": {
      const resource = content.resource;
      if ("text" in resource && typeof resource.text === "string") return new AgentText(resource.text);
      const blob = (resource as { blob?: string }).blob ?? "";
      const mimeType = resource.mimeType ?? "";
      if (mimeType.startsWith("image/")) return new AgentImage(base64ToBytes(blob), { mimeType });
      if (mimeType.startsWith("audio/")) return new AgentAudio(base64ToBytes(blob), { mimeType });
      return new AgentText(`[resource ${resource.uri}${mimeType ? ` (${mimeType})` : ""}]`);
    }
    case "resource_link":
      return new AgentText(`[resource ${content.uri}${content.mimeType ? ` (${content.mimeType})` : ""}]`);
    default:
      return new AgentText(JSON.stringify(content));
  }
}

function textOf(content: Content): string {
  return content.type === "text" ? content.text : "";
}
