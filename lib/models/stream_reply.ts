/**
 * A streamed reply put back together: the deltas of `generateStream` become the same `ChatMessage` that `generate`
 * returns (`mergeStreamDeltas`), and each delta is told, piece by piece, to a sink as it arrives.
 */
import type { ChatMessage, ChatMessageStreamDelta } from "./chat_message.ts";
import { mergeStreamDeltas } from "./message_utils.ts";

/** One piece of a streamed reply: some text, or a piece of the tool call at `index`. */
export interface ModelDelta {
  text?: string;
  toolCall?: { index: number; id?: string; name?: string; arguments?: string };
}

/** The pieces of one stream delta, in order (text first, then tool calls by index). */
export function deltaPieces(delta: ChatMessageStreamDelta): ModelDelta[] {
  const pieces: ModelDelta[] = [];
  if (delta.content) pieces.push({ text: delta.content });
  for (const call of delta.toolCalls ?? []) {
    const toolCall: NonNullable<ModelDelta["toolCall"]> = { index: call.index };
    if (call.id) toolCall.id = call.id;
    if (call.function?.name) toolCall.name = call.function.name;
    if (call.function?.arguments) toolCall.arguments = call.function.arguments;
    pieces.push({ toolCall });
  }
  return pieces;
}

/** Reads `deltas` to their end, telling `onDelta` each piece as it arrives; returns the merged assistant message. */
export async function collectStream(
  deltas: AsyncIterable<ChatMessageStreamDelta>,
  onDelta: (piece: ModelDelta) => void,
): Promise<ChatMessage> {
  const seen: ChatMessageStreamDelta[] = [];
  for await (const delta of deltas) {
    seen.push(delta);
    for (const piece of deltaPieces(delta)) onDelta(piece);
  }
  return mergeStreamDeltas(seen);
}
