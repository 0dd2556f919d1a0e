/**
 * The OpenAI Chat Completions shapes smolstep reads and writes (`POST /v1/chat/completions`, `GET /v1/models`), as
 * zod schemas: the request as far as smolstep uses it, the answers as OpenAI's clients read them. No `openai`
 * package in the core: these are the JSON shapes only.
 */
import * as z from "zod";

const TextPart = z.object({ type: z.literal("text"), text: z.string() });
const ImagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({ url: z.string().min(1), detail: z.string().optional() }),
});

/** A message's content: a string, or parts (text and images; other part types are refused). */
const Content = z.union([z.string(), z.array(z.union([TextPart, ImagePart])), z.null()]);

export const ChatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: Content.optional(),
  name: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * `POST /v1/chat/completions`. `model` names an agent. Parameters smolstep cannot honour are refused by the route
 * (`n` > 1, caller `tools`/`functions`, a `response_format` other than text); sampling parameters (`temperature`,
 * `max_tokens`, `stop`, `seed`, ...) are accepted and ignored: the agent's own model settings apply.
 */
export const ChatCompletionBody = z.object({
  model: z.string().min(1, "model must name an agent"),
  messages: z.array(ChatMessage).min(1, "messages must not be empty"),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  n: z.number().int().positive().nullable().optional(),
  tools: z.array(z.unknown()).nullable().optional(),
  functions: z.array(z.unknown()).nullable().optional(),
  response_format: z.object({ type: z.string() }).nullable().optional(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

const Usage = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

/** How a run's answer ended: `stop` (succeeded), `length` (the run ran out of steps: the max-steps answer). */
export const FinishReason = z.enum(["stop", "length"]);

export const ChatCompletionResponse = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.object({
    index: z.number().int(),
    message: z.object({ role: z.literal("assistant"), content: z.string(), refusal: z.null() }),
    finish_reason: FinishReason,
    logprobs: z.null(),
  })),
  usage: Usage,
});

/** One `data:` of the stream; `reasoning_content` carries the run's progress, `content` only the answer. */
export const ChatCompletionChunk = z.object({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.object({
    index: z.number().int(),
    delta: z.object({
      role: z.literal("assistant").optional(),
      content: z.string().optional(),
      reasoning_content: z.string().optional(),
    }),
    finish_reason: FinishReason.nullable(),
    logprobs: z.null(),
  })),
  usage: Usage.nullable().optional(),
});

export const ModelObject = z.object({
  id: z.string(),
  object: z.literal("model"),
  created: z.number().int(),
  owned_by: z.string(),
});

export const ModelList = z.object({ object: z.literal("list"), data: z.array(ModelObject) });

/** OpenAI's error shape; `code` is smolstep's code, `retryable` as on every smolstep error. */
export const OpenAIErrorBody = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string(),
    retryable: z.boolean(),
  }),
});
