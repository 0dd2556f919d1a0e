/**
 * A chat conversation as an agent's task. The last message must be the user's: its text is the request, its
 * images (`image_url` parts: `data:image/...` or https URLs, the latter through the egress policy) are the run's
 * images. The messages before it (system, developer, user, assistant, tool) are context, given as a prefix of the
 * task, one labelled block per message; their images are not passed (the block says `[image]`). The agent keeps
 * its own system prompt; a caller's system message is context like the others.
 */
import { MAX_IMAGES } from "./http_schemas.ts";
import { OpenAiParamError } from "./openai_errors.ts";
import type { ChatMessage } from "./openai_schemas.ts";

export const CONTEXT_HEADING = "Earlier messages of this conversation, for context:";
export const REQUEST_HEADING = "The current request:";

export interface ChatTask {
  task: string;
  images: string[];
}

export function chatTask(messages: ChatMessage[]): ChatTask {
  const last = messages.at(-1)!;
  if (last.role !== "user") {
    throw new OpenAiParamError(
      400,
      "invalid_request",
      `The last message must be the user's (it is the agent's task); got '${last.role}'.`,
      "messages",
    );
  }
  const images = imagesOf(last, messages.length - 1);
  const request = textOf(last, false).trim();
  if (!request && !images.length) {
    throw new OpenAiParamError(400, "invalid_request", "The last user message has no text.", "messages");
  }
  const context = messages.slice(0, -1).map((m) => `[${m.role}${m.name ? ` ${m.name}` : ""}]\n${textOf(m, true)}`);
  const task = context.length
    ? `${CONTEXT_HEADING}\n\n${context.join("\n\n")}\n\n${REQUEST_HEADING}\n${request}`
    : request;
  return { task, images };
}

function textOf(message: ChatMessage, markImages: boolean): string {
  const { content } = message;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => part.type === "text" ? part.text : markImages ? "[image]" : "").filter(Boolean)
    .join("\n");
}

function imagesOf(message: ChatMessage, index: number): string[] {
  if (!Array.isArray(message.content)) return [];
  const urls = message.content.flatMap((part) => part.type === "image_url" ? [part.image_url.url] : []);
  if (urls.length > MAX_IMAGES) {
    throw new OpenAiParamError(400, "invalid_request", `At most ${MAX_IMAGES} images per request.`, "messages");
  }
  for (const url of urls) {
    if (!/^(https:|data:image\/)/.test(url)) {
      throw new OpenAiParamError(
        400,
        "invalid_request",
        "image_url.url must be a data:image/... URL or an https: URL.",
        `messages.${index}.content`,
      );
    }
  }
  return urls;
}
