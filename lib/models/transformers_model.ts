/**
 * `TransformersModel` (smolagents) and `TransformersEngine` (transformers-agents): local text generation with
 * transformers.js (`@huggingface/transformers`, ONNX Runtime underneath).
 *
 * Import this module directly (`lib/models/transformers_model.ts`); `lib/mod.ts` does not re-export it, so
 * transformers.js and ONNX Runtime stay out of bundles that never use a local model (the Workers bundle). The
 * library itself is imported lazily, on the first call. Deno and Node run it with onnxruntime-node's bundled CPU
 * binaries; Cloudflare Workers cannot (no filesystem, no native addons) and get a `ConfigurationError`.
 */

import type { ChatMessage, ChatMessageStreamDelta, ContentPart } from "./chat_message.ts";
import type { GenerateOptions, Model } from "./model.ts";
import { ConfigurationError, ModelError } from "../errors.ts";
import { prepareMessages, type RoleConversions } from "./message_utils.ts";
import {
  type ChatTurn,
  type GenerationRequest,
  runGeneration,
  type TextGenerationBackend,
} from "./transformers_generation.ts";
import { type LoadOptions, loadTextGeneration } from "./transformers_loader.ts";

export type { TextGenerationBackend } from "./transformers_generation.ts";

export interface TransformersModelOptions extends LoadOptions {
  /** A Hub model id (e.g. "onnx-community/Qwen2.5-0.5B-Instruct") or a local folder ("./models/x", "/abs/x"). */
  modelId: string;
  /** Upper bound on generated tokens per call (default 1024). */
  maxNewTokens?: number;
  /**
   * Generation settings passed to `generate()` (transformers.js names: `do_sample`, `temperature`, `top_k`,
   * `repetition_penalty`...). Default: the model's `generation_config.json`.
   */
  generationConfig?: Record<string, unknown>;
  /** smolagents' `**kwargs`: more `generate()` arguments, applied after `generationConfig`. */
  kwargs?: Record<string, unknown>;
  /** Extra variables for the chat template (e.g. `{ enable_thinking: false }`). */
  chatTemplateKwargs?: Record<string, unknown>;
  /** Role mapping applied on top of tool-call -> assistant, tool-response -> user. */
  customRoleConversions?: RoleConversions;
  /** Give the template plain-text contents (images dropped). Default true: small local models take text. */
  flattenMessagesAsText?: boolean;
}

/** What `TransformersModel` keeps once loaded: the backend, and whether it owns (and may dispose) it. */
export interface LoadedBackend {
  backend: TextGenerationBackend;
  owned: boolean;
}

/**
 * A local causal LM through transformers.js: the tokenizer's chat template renders the messages, `generate()`
 * writes the reply (greedy unless the generation config samples). Loading is lazy and happens once per instance.
 * Tools are passed to the chat template, and tool calls come back as text for the agent to parse. Constrained
 * output (`responseFormat` / `grammar`) is not available in transformers.js: asking for it is a `ConfigurationError`.
 */
export class TransformersModel implements Model {
  readonly modelId: string;
  readonly maxNewTokens: number;
  readonly #options: TransformersModelOptions;
  #loaded: Promise<LoadedBackend> | undefined;

  constructor(options: TransformersModelOptions) {
    if (!options?.modelId) throw new ConfigurationError("TransformersModel: `modelId` is required");
    const maxNewTokens = options.maxNewTokens ?? 1024;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
      throw new ConfigurationError(
        `TransformersModel: \`maxNewTokens\` must be a positive integer, got ${maxNewTokens}`,
      );
    }
    this.modelId = options.modelId;
    this.maxNewTokens = maxNewTokens;
    this.#options = options;
  }

  /** Loads the model now (otherwise the first call does). Safe to call again. */
  async load(): Promise<void> {
    await this.#load();
  }

  /**
   * Releases the ONNX sessions of a model this instance loaded (call it when no generation is running); the next
   * call loads the model again. A `TransformersEngine` leaves its pipeline alone.
   */
  async dispose(): Promise<void> {
    const loaded = this.#loaded;
    this.#loaded = undefined;
    const settled = await loaded?.catch(() => undefined);
    if (settled?.owned) await settled.backend.model.dispose?.();
  }

  /** The loaded pipeline; subclasses may supply their own (see `TransformersEngine`). */
  protected loadBackend(): Promise<LoadedBackend> {
    return loadTextGeneration(this.modelId, this.#options).then((backend) => ({ backend, owned: true }));
  }

  async generate(messages: ChatMessage[], options: GenerateOptions = {}): Promise<ChatMessage> {
    const { text, usage } = await this.#generate(messages, options);
    return { role: "assistant", content: text, tokenUsage: usage };
  }

  /** Yields text deltas as tokens arrive, then a last delta with the token usage. */
  async *generateStream(
    messages: ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<ChatMessageStreamDelta> {
    const pieces: string[] = [];
    let wake: (() => void) | undefined;
    const stopEarly = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stopEarly.signal]) : stopEarly.signal;
    let done = false;
    const run = this.#generate(messages, { ...options, signal }, (text) => {
      pieces.push(text);
      wake?.();
    }).finally(() => {
      done = true;
      wake?.();
    });
    run.catch(() => {}); // observed below; keeps an early `return()` from leaving an unhandled rejection
    try {
      while (true) {
        if (pieces.length > 0) {
          yield { content: pieces.shift() };
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
      const { usage } = await run;
      yield { tokenUsage: usage };
    } finally {
      if (!done) {
        stopEarly.abort(); // the consumer stopped reading: end generation at the next token
        await run.catch(() => {});
      }
    }
  }

  async #generate(messages: ChatMessage[], options: GenerateOptions, onText?: (text: string) => void) {
    const { signal } = options;
    if (options.responseFormat !== undefined || options.grammar !== undefined) {
      throw new ConfigurationError(
        `TransformersModel "${this.modelId}": constrained output (responseFormat / grammar) is not supported by transformers.js`,
      );
    }
    signal?.throwIfAborted();
    const { backend } = await whenNotAborted(this.#load(), signal);
    const { customRoleConversions, flattenMessagesAsText = true } = this.#options;
    const request: GenerationRequest = {
      chat: prepareMessages(messages, { customRoleConversions, flattenMessagesAsText }).map(toChatTurn),
      stopSequences: options.stopSequences,
      tools: options.tools?.map(({ name, description, parameters }) => ({
        type: "function",
        function: { name, description, parameters },
      })),
      chatTemplateKwargs: this.#options.chatTemplateKwargs,
      generateKwargs: { max_new_tokens: this.maxNewTokens, ...this.#options.generationConfig, ...this.#options.kwargs },
      signal,
      onText,
    };
    try {
      return await runGeneration(backend, request);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const detail = error instanceof Error ? error.message : String(error);
      throw new ModelError(`TransformersModel "${this.modelId}": generation failed: ${detail}`, {
        modelId: this.modelId,
        cause: error,
      });
    }
  }

  #load(): Promise<LoadedBackend> {
    this.#loaded ??= this.loadBackend().catch((error) => {
      this.#loaded = undefined; // a failed load is retried by the next call
      throw error;
    });
    return this.#loaded;
  }
}

/**
 * transformers-agents' `TransformersEngine`: the same model over a text-generation pipeline you built yourself
 * (`await pipeline("text-generation", ...)`), which it uses as is and never disposes.
 */
export class TransformersEngine extends TransformersModel {
  readonly pipeline: TextGenerationBackend;

  constructor(
    pipeline: TextGenerationBackend,
    modelId?: string,
    options: Omit<TransformersModelOptions, "modelId" | keyof LoadOptions> = {},
  ) {
    if (!pipeline?.model || !pipeline?.tokenizer) {
      throw new ConfigurationError(
        "TransformersEngine: pass a text-generation pipeline (with `model` and `tokenizer`)",
      );
    }
    super({ ...options, modelId: modelId ?? pipelineModelId(pipeline) });
    this.pipeline = pipeline;
  }

  protected override loadBackend(): Promise<LoadedBackend> {
    return Promise.resolve({ backend: this.pipeline, owned: false });
  }
}

function pipelineModelId(pipeline: TextGenerationBackend): string {
  const config = (pipeline.model as { config?: { _name_or_path?: unknown } }).config;
  return typeof config?._name_or_path === "string" && config._name_or_path ? config._name_or_path : "transformers";
}

function toChatTurn(message: ChatMessage): ChatTurn {
  const content = message.content;
  if (content == null || typeof content === "string") return { role: message.role, content: content ?? "" };
  return { role: message.role, content: content.map(toTemplatePart) };
}

function toTemplatePart(part: ContentPart): { type: string; text?: string; image?: string } {
  return part.type === "text" ? { type: "text", text: part.text } : { type: "image", image: part.image };
}

/** Waits for `promise` unless the signal aborts first (the load itself goes on, for the next call). */
function whenNotAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
