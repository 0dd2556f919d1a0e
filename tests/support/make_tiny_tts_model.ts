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

import { fileURLToPath } from "node:url";
import {
  byteLevelTokenizer,
  byteToUnicode,
  encodeOnnxModel,
  FLOAT,
  INT64,
  modelJson,
  node,
  specialToken,
  tensor,
  valueInfo,
  writeModelFiles,
} from "./make_tiny_model.ts";

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
  return encodeOnnxModel(graph, "make_tiny_tts_model.ts", "One sample per token, for offline text-to-speech tests");
}

/** Every file of the model folder, path -> contents. */
export function tinyTtsModelFiles(): Record<string, string | Uint8Array> {
  const json = modelJson;
  const tokens = ["<pad>", ...byteToUnicode()];
  const pad = specialToken("<pad>", 0);
  return {
    "config.json": json({
      architectures: ["VitsModel"],
      model_type: "vits",
      sampling_rate: TINY_TTS_SAMPLING_RATE,
      vocab_size: tokens.length,
      pad_token_id: 0,
      "transformers.js_config": { dtype: "fp32" },
    }),
    "tokenizer.json": json(byteLevelTokenizer(tokens, [pad])),
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
export function writeTinyTtsModel(dir: string): Promise<void> {
  return writeModelFiles(dir, tinyTtsModelFiles());
}

if (import.meta.main) {
  const out = Deno.args[0] ?? fileURLToPath(new URL("./tiny_tts_model/", import.meta.url));
  await writeTinyTtsModel(out);
  console.log(`tiny TTS model written to ${out}`);
}
