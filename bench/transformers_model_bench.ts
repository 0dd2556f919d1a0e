/**
 * TransformersModel overhead over a bare transformers.js pipeline: the same tiny model (tests/support/tiny_model,
 * ONNX Runtime on CPU), the same chat, 256 new tokens per iteration (the model recites the alphabet, so every
 * iteration generates exactly 256 tokens). Tokens/s = 256 / time per iteration.
 *
 *   deno bench -A bench/transformers_model_bench.ts
 *
 * The tiny model's forward pass costs microseconds, so this measures the per-token work around it (transformers.js'
 * loop, our streamer and stop-sequence check) at its most visible; with a real model it disappears in the noise.
 */

import { fileURLToPath } from "node:url";
import { pipeline } from "@huggingface/transformers";
import type { ChatMessage } from "../lib/models/chat_message.ts";
import { TransformersModel } from "../lib/models/transformers_model.ts";

const TINY = fileURLToPath(new URL("../tests/support/tiny_model", import.meta.url));
const TOKENS = 256;
const chat: ChatMessage[] = [{ role: "user", content: "Recite the alphabet." }, { role: "assistant", content: "a" }];

const pipe = await pipeline("text-generation", TINY, { local_files_only: true });
const model = new TransformersModel({ modelId: TINY, maxNewTokens: TOKENS });
await model.load();

function check(text: unknown, usage?: { outputTokens: number }) {
  if (typeof text !== "string" || !text.startsWith("bcdefghijklmnopqrstuvwxyzab")) throw new Error("unexpected text");
  if (usage && usage.outputTokens !== TOKENS) throw new Error(`generated ${usage.outputTokens} tokens`);
}

Deno.bench("bare pipeline(chat, { max_new_tokens: 256 })", { group: "256 tokens", baseline: true }, async () => {
  const [out] = await pipe(chat as never, { max_new_tokens: TOKENS }) as Array<{ generated_text: ChatMessage[] }>;
  check(out.generated_text.at(-1)?.content);
});

Deno.bench("TransformersModel.generate", { group: "256 tokens" }, async () => {
  const reply = await model.generate(chat);
  check(reply.content, reply.tokenUsage);
});

Deno.bench("TransformersModel.generate with stop sequences", { group: "256 tokens" }, async () => {
  const reply = await model.generate(chat, { stopSequences: ["Observation:", "</code>"] });
  check(reply.content, reply.tokenUsage);
});

Deno.bench("TransformersModel.generateStream", { group: "256 tokens" }, async () => {
  let text = "";
  let usage;
  for await (const delta of model.generateStream(chat)) {
    text += delta.content ?? "";
    usage = delta.tokenUsage ?? usage;
  }
  check(text, usage);
});

globalThis.addEventListener("unload", () => {
  void pipe.dispose();
  void model.dispose();
});
