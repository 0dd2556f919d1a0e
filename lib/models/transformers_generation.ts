/**
 * One chat generation on a transformers.js causal LM, shared by `TransformersModel` and `TransformersEngine`:
 * chat template, `model.generate()` with our streamer and stopping criterion, token counts.
 *
 * Stop sequences end generation: after each new token the text decoded so far is searched for them (only its
 * tail), and the criterion tells `generate()` to stop. Streaming holds back any tail that could still become a
 * stop sequence, so the streamed pieces add up to exactly the text `generate` returns.
 *
 * The types below are the few members we use, so a pipeline from any transformers.js 3.x/4.x fits; this module
 * never imports transformers.js itself.
 */

import type { TokenUsage } from "./chat_message.ts";
import { cutAtStopSequences } from "./message_utils.ts";

type TokenIds = number[] | bigint[];

export interface TensorLike {
  readonly dims: readonly number[];
  tolist(): unknown[];
}

/** The members of a transformers.js `PreTrainedTokenizer` that generation uses. */
export interface TokenizerLike {
  apply_chat_template(conversation: ChatTurn[], options?: Record<string, unknown>): unknown;
  decode(tokenIds: TokenIds, options?: { skip_special_tokens?: boolean }): string;
}

/** The members of a transformers.js causal LM (`PreTrainedModel`) that generation uses. */
export interface CausalLMLike {
  generate(options: Record<string, unknown>): Promise<unknown>;
  dispose?(): Promise<unknown>;
}

/** A text-generation pipeline, or anything holding a causal LM and its tokenizer. */
export interface TextGenerationBackend {
  model: CausalLMLike;
  tokenizer: TokenizerLike;
}

/** A message as chat templates read it. */
export interface ChatTurn {
  role: string;
  content: string | Array<{ type: string; text?: string; image?: string }>;
}

export interface GenerationRequest {
  chat: ChatTurn[];
  stopSequences?: readonly string[];
  /** Tool schemas (OpenAI function format) for templates that render tools. */
  tools?: unknown[];
  /** Extra variables for the chat template (e.g. `enable_thinking`). */
  chatTemplateKwargs?: Record<string, unknown>;
  /** Arguments for `model.generate()` (`max_new_tokens`, sampling settings...). */
  generateKwargs: Record<string, unknown>;
  signal?: AbortSignal;
  /** Streaming: called with each new piece of final text, in order. */
  onText?: (text: string) => void;
}

export interface GenerationResult {
  /** The generated text without special tokens, cut before the first stop sequence. */
  text: string;
  usage: TokenUsage;
}

/** Renders the chat, generates until EOS, `max_new_tokens`, a stop sequence or an abort, and decodes. */
export async function runGeneration(
  backend: TextGenerationBackend,
  request: GenerationRequest,
): Promise<GenerationResult> {
  const { model, tokenizer } = backend;
  const inputs = tokenizer.apply_chat_template(request.chat, {
    ...request.chatTemplateKwargs,
    tools: request.tools?.length ? request.tools : null,
    add_generation_prompt: true,
    tokenize: true,
    return_dict: true,
  }) as { input_ids: TensorLike; attention_mask?: TensorLike };
  const promptLength = inputs.input_ids.dims.at(-1) ?? 0;
  const tracker = new GenerationTracker(tokenizer, request);
  const sequences = await model.generate({
    ...request.generateKwargs,
    ...inputs,
    streamer: tracker,
    stopping_criteria: [() => [tracker.shouldStop()]],
  }) as TensorLike;
  request.signal?.throwIfAborted();
  const generated = (sequences.tolist()[0] as bigint[]).slice(promptLength);
  const text = tracker.finish(generated);
  return { text, usage: { inputTokens: promptLength, outputTokens: generated.length } };
}

/**
 * Streamer (`put` / `end`, as transformers.js calls them) and stop-sequence watcher. Text is decoded
 * incrementally: each step decodes a short window that starts one token back, and keeps what the new token added
 * once it is whole (no trailing U+FFFD from a split UTF-8 character).
 */
class GenerationTracker {
  readonly #tokenizer: TokenizerLike;
  readonly #stops: readonly string[];
  readonly #longestStop: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onText: ((text: string) => void) | undefined;
  readonly #watchText: boolean;
  readonly #ids: number[] = [];
  #promptSeen = false;
  #prefixOffset = 0;
  #readOffset = 0;
  #text = "";
  #searchedTo = 0;
  #stopAt = -1;
  #emitted = 0;

  constructor(tokenizer: TokenizerLike, request: GenerationRequest) {
    this.#tokenizer = tokenizer;
    this.#stops = (request.stopSequences ?? []).filter((stop) => stop.length > 0);
    this.#longestStop = Math.max(0, ...this.#stops.map((stop) => stop.length));
    this.#signal = request.signal;
    this.#onText = request.onText;
    this.#watchText = this.#stops.length > 0 || this.#onText !== undefined;
  }

  /** transformers.js passes the prompt first, then each new token as `[[id]]`. */
  put(value: bigint[][]): void {
    if (!this.#promptSeen) {
      this.#promptSeen = true;
      return;
    }
    if (!this.#watchText || this.#stopAt !== -1) return;
    this.#ids.push(Number(value[0][0]));
    this.#advance();
  }

  end(): void {}

  shouldStop(): boolean {
    return this.#stopAt !== -1 || (this.#signal?.aborted ?? false);
  }

  /** The final text from all generated ids; sends what streaming has not sent yet. */
  finish(generated: TokenIds): string {
    const text = cutAtStopSequences(this.#decode(generated), this.#stops);
    if (this.#onText) {
      const sent = this.#text.slice(0, this.#emitted);
      // Incremental and full decoding agree for byte-level and sentencepiece tokenizers; if a tokenizer's
      // clean-up made them differ, the streamed text stands (it cannot be taken back).
      const rest = text.startsWith(sent) ? text.slice(sent.length) : "";
      if (rest) this.#onText(rest);
      return text.startsWith(sent) ? text : sent;
    }
    return text;
  }

  #decode(ids: TokenIds): string {
    return ids.length === 0 ? "" : this.#tokenizer.decode(ids, { skip_special_tokens: true });
  }

  #advance(): void {
    const before = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const after = this.#decode(this.#ids.slice(this.#prefixOffset));
    if (after.length <= before.length || after.endsWith("\uFFFD")) return;
    this.#text += after.slice(before.length);
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    this.#findStop();
    this.#emit();
  }

  #findStop(): void {
    if (this.#stops.length === 0) return;
    const from = Math.max(0, this.#searchedTo - this.#longestStop + 1);
    for (const stop of this.#stops) {
      const at = this.#text.indexOf(stop, from);
      if (at !== -1 && (this.#stopAt === -1 || at < this.#stopAt)) this.#stopAt = at;
    }
    this.#searchedTo = this.#text.length;
  }

  #emit(): void {
    if (!this.#onText) return;
    const end = this.#stopAt !== -1 ? this.#stopAt : this.#text.length - this.#heldBack();
    if (end <= this.#emitted) return;
    this.#onText(this.#text.slice(this.#emitted, end));
    this.#emitted = end;
  }

  /** Length of the longest tail of the text that is the start of a stop sequence. */
  #heldBack(): number {
    let held = 0;
    for (const stop of this.#stops) {
      for (let length = Math.min(stop.length - 1, this.#text.length); length > held; length--) {
        if (this.#text.endsWith(stop.slice(0, length))) {
          held = length;
          break;
        }
      }
    }
    return held;
  }
}
