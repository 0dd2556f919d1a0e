import { z } from "zod";
import { tool } from "../../lib/mod.ts";
import { base64ToBytes } from "../../lib/base64.ts";
import { encodeWav } from "../../lib/types/wav.ts";

/** A 4x3 red PNG. */
export const PNG_4X3 = base64ToBytes(
  "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEElEQVR4nGO4YGAARww4OQAdlg5BDW5a6gAAAABJRU5ErkJggg==",
);

/** A quarter second of a 440 Hz tone, 8 kHz mono 16-bit WAV. */
export const WAV_TONE = encodeWav(
  Float32Array.from({ length: 2000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8000)),
  8000,
);

/** A tool whose output is an image (stored as a blob in a KV run). */
export const drawTool = tool({
  name: "draw",
  description: "Draws a picture.",
  inputs: z.object({ subject: z.string() }),
  output: "image",
  run: () => PNG_4X3,
});

/** A tool whose output is audio (stored as a blob in a KV run). */
export const speakTool = tool({
  name: "speak",
  description: "Says the text aloud.",
  inputs: z.object({ text: z.string() }),
  output: "audio",
  run: () => WAV_TONE,
});
