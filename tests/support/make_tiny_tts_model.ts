/**
 * Writes `tests/support/tiny_tts_model/`: a tiny VITS-shaped text-to-speech model that transformers.js'
 * `text-to-speech` pipeline loads like any Hub model (`config.json` with `model_type: "vits"`, a byte-level
 * tokenizer, `onnx/model.onnx`), built from scratch so the local `text_to_speech` tool runs offline through the real
 * pipeline.
 *
 * The "model" turns each token into one sample: `waveform = Cast(input_ids, float) / 1000`, float32
 * [batch, sequence]. Token ids are byte + 1 (id 0 is `<pad>`), so the text "hi" gives the samples
 * [0.105, 0.106] at 16 kHz.
 *
 * Usage: `deno run --allow-write tests/support/make_tiny_tts_model.ts [outDir]` (default: next to this file).
 * The output is deterministic; tests/pipelines/local_pipeline_test.ts checks the committed copy is current.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { byteToUnicode, FLOAT, INT64, node, ONNX_SCHEMA, tensor, valueInfo } from "./make_tiny_model.ts";

export const TINY_TTS_SAMPLING_RATE = 16_000;

/** The samples the tiny model gives for `text` (what the test expects). */
export function tinyTtsSamples(text: string): Float32Array {
  return Float32Array.from(new TextEncoder().encode(text), (byte) => (byte + 1) / 1000);
}

function tinyTtsOnnx(): Uint8Array {
  const graph = {
    name: "tiny_tts",
    input: [
      valueInfo("input_ids", INT64, ["batch_size", "sequence_length"]),
      valueInfo("attention_mask", INT64, ["batch_size", "sequence_length"]),
    ],
    output: [valueInfo("waveform", FLOAT, ["batch_size", "sequence_length"])],
    initializer: [tensor("scale", FLOAT, [], [1000])],
    node: [
      node("Cast", ["input_ids"], ["ids_f"], [{ name: "to", i: FLOAT }]),
      node("Div", ["ids_f", "scale"], ["waveform"]),
    ],
  };
  const ModelProto = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType("ModelProto");
  const model = {
    irVersion: 8,
    producerName: "smolstep make_tiny_tts_model.ts",
    producerVersion: "1",
    docString: "One sample per token, for offline text-to-speech tests; see tests/support/make_tiny_tts_model.ts.",
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Every file of the model folder, path -> contents. */
export function tinyTtsModelFiles(): Record<string, string | Uint8Array> {
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  const tokens = ["<pad>", ...byteToUnicode()];
  const pad = {
    id: 0,
    content: "<pad>",
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    "config.json": json({
      architectures: ["VitsModel"],
      model_type: "vits",
      sampling_rate: TINY_TTS_SAMPLING_RATE,
      vocab_size: tokens.length,
      pad_token_id: 0,
      "transformers.js_config": { dtype: "fp32" },
    }),
    "tokenizer.json": json({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [pad],
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
    }),
    "tokenizer_config.json": json({
      tokenizer_class: "GPT2Tokenizer",
      add_bos_token: false,
      add_eos_token: false,
      bos_token: null,
      eos_token: null,
      pad_token: "<pad>",
      unk_token: null,
      clean_up_tokenization_spaces: false,
      model_max_length: 4096,
      added_tokens_decoder: { "0": { ...pad, id: undefined } },
    }),
    "onnx/model.onnx": tinyTtsOnnx(),
  };
}

/** Writes the model folder to `dir` (created if missing). */
export async function writeTinyTtsModel(dir: string): Promise<void> {
  for (const [path, contents] of Object.entries(tinyTtsModelFiles())) {
    const file = join(dir, path);
    await Deno.mkdir(dirname(file), { recursive: true });
    if (typeof contents === "string") await Deno.writeTextFile(file, contents);
    else await Deno.writeFile(file, contents);
  }
}

if (import.meta.main) {
  const out = Deno.args[0] ?? fileURLToPath(new URL("./tiny_tts_model/", import.meta.url));
  await writeTinyTtsModel(out);
  console.log(`tiny TTS model written to ${out}`);
}
