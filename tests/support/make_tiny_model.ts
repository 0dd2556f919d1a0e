/**
 * Writes `tests/support/tiny_model/`: a tiny causal LM that transformers.js loads like any Hub model
 * (`config.json`, `generation_config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`), built
 * from scratch so the TransformersModel tests run offline through the real pipeline.
 *
 * The "model" is a lookup table: the next token is a function of the last input token (plus one bit, below), so
 * greedy decoding replays a scripted continuation. The ONNX graph (opset 13, no KV cache: transformers.js then
 * feeds the whole prompt once and one token per later step) is
 *
 *   later  = ReduceSum(Cast(Equal(input_ids, <|assistant|>))) > 1.5   per row: a previous assistant turn exists
 *   next   = Where(later, Gather(NEXT_LATER, input_ids), Gather(NEXT_FIRST, input_ids))
 *   logits = OneHot(next, vocab, [0, 40])                              float32 [batch, sequence, vocab]
 *
 * The tokenizer is byte-level BPE with no merges (any text encodes, one token per byte), four special tokens
 * and one vocab entry per scripted phrase. After `<|assistant|>` the model writes a CodeAgent step that calls
 * `add` (first turn) or `final_answer(total)` (later turns); after a lowercase letter it recites the alphabet
 * forever (for long generations); after anything else it ends with `<|end|>`.
 *
 * Usage: `deno run --allow-write tests/support/make_tiny_model.ts [outDir]` (default: next to this file).
 * The output is deterministic; tests/models/transformers_tiny_model_test.ts checks the committed copy is current.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

export const SPECIAL_TOKENS = ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"] as const;
/** What the model writes after `<|assistant|>` when the prompt has no earlier assistant turn. */
export const FIRST_TURN = [
  "Thought: I will add the numbers with the add tool.",
  "\n<code>\n",
  "const total = await add({ a: 40, b: 2 });",
  "\nconsole.log(total);",
  "\n</code>",
];
/** What it writes when an earlier assistant turn is in the prompt (its last phrase is shared with FIRST_TURN). */
export const LATER_TURN = [
  "Thought: The tool gave the sum, so I return it.",
  "\n<code>\nfinal_answer(total);",
  "\n</code>",
];

const CHAT_TEMPLATE = [
  "{%- for message in messages -%}",
  "<|{{ message.role }}|>",
  "{%- if message.content is string -%}{{ message.content }}",
  "{%- else -%}{%- for part in message.content -%}{%- if part.type == 'text' -%}{{ part.text }}{%- endif -%}",
  "{%- endfor -%}{%- endif -%}",
  // A final assistant message is continued (prefill), as transformers' `continue_final_message` does.
  "{%- if not (loop.last and message.role == 'assistant') -%}<|end|>{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt and messages[-1].role != 'assistant' -%}<|assistant|>{%- endif -%}",
].join("");

/** GPT-2's byte-to-unicode table: every byte gets a printable character. */
export function byteToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
}

function vocabulary() {
  const bytes = byteToUnicode();
  const asBytes = (text: string) => [...new TextEncoder().encode(text)].map((b) => bytes[b]).join("");
  const tokens: string[] = [...SPECIAL_TOKENS, ...bytes];
  const phrases = [...new Set([...FIRST_TURN, ...LATER_TURN])];
  const phraseId = new Map(phrases.map((phrase, i) => [phrase, tokens.length + i]));
  tokens.push(...phrases.map(asBytes));
  return { tokens, phraseId, byteId: (b: number) => SPECIAL_TOKENS.length + b };
}

/** The two transition tables (next token id for each token id). */
function transitions() {
  const { tokens, phraseId, byteId } = vocabulary();
  const end = 0, assistant = SPECIAL_TOKENS.indexOf("<|assistant|>");
  const first = new Array<number>(tokens.length).fill(end);
  for (const turn of [FIRST_TURN, LATER_TURN]) {
    turn.forEach((phrase, i) => first[phraseId.get(phrase)!] = i + 1 < turn.length ? phraseId.get(turn[i + 1])! : end);
  }
  const a = "a".charCodeAt(0);
  for (let i = 0; i < 26; i++) first[byteId(a + i)] = byteId(a + (i + 1) % 26);
  const later = [...first];
  first[assistant] = phraseId.get(FIRST_TURN[0])!;
  later[assistant] = phraseId.get(LATER_TURN[0])!;
  return { tokens, first, later, assistant };
}

// The subset of onnx.proto (proto3 field numbers) the graph needs.
export const ONNX_SCHEMA = {
  nested: {
    ModelProto: {
      fields: {
        irVersion: { type: "int64", id: 1 },
        producerName: { type: "string", id: 2 },
        producerVersion: { type: "string", id: 3 },
        docString: { type: "string", id: 6 },
        graph: { type: "GraphProto", id: 7 },
        opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
      },
    },
    OperatorSetIdProto: { fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } } },
    GraphProto: {
      fields: {
        node: { rule: "repeated", type: "NodeProto", id: 1 },
        name: { type: "string", id: 2 },
        initializer: { rule: "repeated", type: "TensorProto", id: 5 },
        input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
        output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
      },
    },
    NodeProto: {
      fields: {
        input: { rule: "repeated", type: "string", id: 1 },
        output: { rule: "repeated", type: "string", id: 2 },
        name: { type: "string", id: 3 },
        opType: { type: "string", id: 4 },
        attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
      },
    },
    AttributeProto: {
      fields: { name: { type: "string", id: 1 }, i: { type: "int64", id: 3 }, type: { type: "int32", id: 20 } },
    },
    TensorProto: {
      fields: {
        dims: { rule: "repeated", type: "int64", id: 1 },
        dataType: { type: "int32", id: 2 },
        name: { type: "string", id: 8 },
        rawData: { type: "bytes", id: 9 },
      },
    },
    ValueInfoProto: { fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } } },
    TypeProto: { fields: { tensorType: { type: "TypeProtoTensor", id: 1 } } },
    TypeProtoTensor: { fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } } },
    TensorShapeProto: { fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } } },
    Dimension: { fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } } },
  },
};

export const FLOAT = 1, INT64 = 7;
const INT_ATTRIBUTE = 2;

export function tensor(name: string, dataType: number, dims: number[], values: number[]) {
  const data = dataType === FLOAT ? new Float32Array(values) : BigInt64Array.from(values, BigInt);
  // Typed arrays are little-endian on every platform Deno runs on, as ONNX raw_data requires.
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer) };
}

export function valueInfo(name: string, elemType: number, dims: Array<string | number>) {
  const dim = dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d });
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: Array<{ name: string; i: number }> = [],
) {
  return { opType, input, output, name: output[0], attribute: attribute.map((a) => ({ ...a, type: INT_ATTRIBUTE })) };
}

/** The ONNX model bytes. */
export function tinyModelOnnx(): Uint8Array {
  const { tokens, first, later, assistant } = transitions();
  const vocab = tokens.length;
  const graph = {
    name: "tiny_lookup_lm",
    input: [
      valueInfo("input_ids", INT64, ["batch_size", "sequence_length"]),
      // Unused by the table, but transformers.js always feeds it; declaring it keeps its input check quiet.
      valueInfo("attention_mask", INT64, ["batch_size", "total_sequence_length"]),
    ],
    output: [valueInfo("logits", FLOAT, ["batch_size", "sequence_length", vocab])],
    initializer: [
      tensor("next_first", INT64, [vocab], first),
      tensor("next_later", INT64, [vocab], later),
      tensor("assistant_id", INT64, [], [assistant]),
      tensor("sequence_axis", INT64, [1], [1]),
      tensor("one_assistant_turn", FLOAT, [], [1.5]),
      tensor("vocab_size", INT64, [], [vocab]),
      tensor("one_hot_values", FLOAT, [2], [0, 40]),
    ],
    node: [
      node("Equal", ["input_ids", "assistant_id"], ["is_assistant"]),
      node("Cast", ["is_assistant"], ["is_assistant_f"], [{ name: "to", i: FLOAT }]),
      node("ReduceSum", ["is_assistant_f", "sequence_axis"], ["assistant_turns"], [{ name: "keepdims", i: 1 }]),
      node("Greater", ["assistant_turns", "one_assistant_turn"], ["later_turn"]),
      node("Gather", ["next_first", "input_ids"], ["first_next"], [{ name: "axis", i: 0 }]),
      node("Gather", ["next_later", "input_ids"], ["later_next"], [{ name: "axis", i: 0 }]),
      node("Where", ["later_turn", "later_next", "first_next"], ["next_token"]),
      node("OneHot", ["next_token", "vocab_size", "one_hot_values"], ["logits"], [{ name: "axis", i: -1 }]),
    ],
  };
  return encodeOnnxModel(graph, "make_tiny_model.ts", "Lookup-table causal LM for offline tests");
}

/** An opset-13 ONNX model's bytes around `graph`, naming the script (in tests/support/) that made it. */
export function encodeOnnxModel(graph: Record<string, unknown>, script: string, purpose: string): Uint8Array {
  const ModelProto = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType("ModelProto");
  const model = {
    irVersion: 8,
    producerName: `smolstep ${script}`,
    producerVersion: "1",
    docString: `${purpose}; see tests/support/${script}.`,
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** A tokenizer.json added token entry for a special token. */
export function specialToken(content: string, id: number) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** `value` as the model folders' JSON files are written: two-space indent, final newline. */
export function modelJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** Every file of the model folder, path -> contents. */
export function tinyModelFiles(): Record<string, string | Uint8Array> {
  const { tokens } = vocabulary();
  const json = modelJson;
  const special = SPECIAL_TOKENS.map(specialToken);
  return {
    "config.json": json({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      vocab_size: tokens.length,
      hidden_size: 8,
      intermediate_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      num_key_value_heads: 1,
      max_position_embeddings: 1048576,
      bos_token_id: null,
      eos_token_id: 0,
      pad_token_id: 0,
      use_cache: false,
      "transformers.js_config": { dtype: "fp32" },
    }),
    "generation_config.json": json({ eos_token_id: 0, pad_token_id: 0, do_sample: false }),
    "tokenizer.json": json(byteLevelTokenizer(tokens, special)),
    "tokenizer_config.json": json({
      tokenizer_class: "GPT2Tokenizer",
      add_bos_token: false,
      add_eos_token: false,
      bos_token: null,
      eos_token: "<|end|>",
      pad_token: "<|end|>",
      unk_token: null,
      clean_up_tokenization_spaces: false,
      model_max_length: 1048576,
      added_tokens_decoder: Object.fromEntries(special.map(({ id, ...token }) => [String(id), token])),
      chat_template: CHAT_TEMPLATE,
    }),
    "onnx/model.onnx": tinyModelOnnx(),
  };
}

/** Writes the model folder to `dir` (created if missing). */
export function writeTinyModel(dir: string): Promise<void> {
  return writeModelFiles(dir, tinyModelFiles());
}

/** Writes a model folder's files (path -> contents) under `dir`. */
export async function writeModelFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, contents] of Object.entries(files)) {
    const file = join(dir, path);
    await Deno.mkdir(dirname(file), { recursive: true });
    if (typeof contents === "string") await Deno.writeTextFile(file, contents);
    else await Deno.writeFile(file, contents);
  }
}

/** A byte-level BPE `tokenizer.json` with no merges: one token per byte, plus the added (special) tokens. */
export function byteLevelTokenizer(tokens: string[], addedTokens: unknown[]): Record<string, unknown> {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: [],
    },
  };
}

if (import.meta.main) {
  const out = Deno.args[0] ?? fileURLToPath(new URL("./tiny_model/", import.meta.url));
  await writeTinyModel(out);
  console.log(`tiny model written to ${out}`);
}
