import type { ChatMessage, GenerateOptions, ModelFunction } from "../mod.ts";

/** A reply a scripted function model gives: text, or tool calls (native), with optional usage. */
export type FunctionReply =
  | string
  | { content?: string; calls?: Array<[name: string, args: unknown]>; usage?: [input: number, output: number] }
  | Error;

/** What `functionModel` returns: the model, the calls it received, and how many replies are left. */
export interface FunctionModel {
  model: ModelFunction;
  /** Each call's messages (cloned) and options (without the signal). */
  calls: Array<{ messages: ChatMessage[]; options: GenerateOptions }>;
  remaining(): number;
}

/**
 * An in-process model for unit tests of agent logic (HTTP-level tests use the scripted model server instead).
 * Records every call's messages and options; throws when the script runs out.
 */
export function functionModel(replies: FunctionReply[]): FunctionModel {
  const calls: Array<{ messages: ChatMessage[]; options: GenerateOptions }> = [];
  const queue = [...replies];
  const model: ModelFunction = (messages, options) => {
    calls.push({ messages: structuredClone(messages), options: { ...options, signal: undefined } });
    const reply = queue.shift();
    if (reply === undefined) throw new Error("function model: no reply left");
    if (reply instanceof Error) throw reply;
    if (typeof reply === "string") return reply;
    return {
      content: reply.content ?? null,
      toolCalls: reply.calls?.map(([name, args], index) => ({
        id: `call_${calls.length}_${index}`,
        type: "function" as const,
        function: { name, arguments: args },
      })),
      tokenUsage: reply.usage ? { inputTokens: reply.usage[0], outputTokens: reply.usage[1] } : undefined,
    };
  };
  return { model, calls, remaining: () => queue.length };
}
