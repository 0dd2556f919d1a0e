/**
 * loadTool(..., {local: true}) end to end offline: the text_to_speech tool through transformers.js' real
 * text-to-speech pipeline on the tiny VITS-shaped model in tests/support/tiny_tts_model/.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentAudio, ConfigurationError, ToolCallingAgent } from "../../lib/mod.ts";
import { loadTool, TextToSpeechTool } from "../../lib/pipelines/mod.ts";
import { functionModel } from "../support/function_model.ts";
import {
  TINY_TTS_SAMPLING_RATE,
  tinyTtsModelFiles,
  tinyTtsSamples,
  writeTinyTtsModel,
} from "../support/make_tiny_tts_model.ts";

const TINY_TTS = fileURLToPath(new URL("../support/tiny_tts_model", import.meta.url));

Deno.test("tests/support/tiny_tts_model/ is what make_tiny_tts_model.ts writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tiny_tts_model_" });
  try {
    await writeTinyTtsModel(dir);
    let total = 0;
    for (const path of Object.keys(tinyTtsModelFiles())) {
      const fresh = await Deno.readFile(join(dir, path));
      const kept = await Deno.readFile(join(TINY_TTS, path));
      assert.deepEqual(kept, fresh, `${path} is stale: run deno run -A tests/support/make_tiny_tts_model.ts`);
      total += kept.length;
    }
    assert.ok(total < 64 * 1024, `the tiny model stays tiny (${total} bytes)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTool text_to_speech, local, through the real transformers.js pipeline", async (t) => {
  await t.step("the tool's setup loads the pipeline once; samples and rate come from the model", async () => {
    const tool = await loadTool("text_to_speech", { local: true, modelRepoId: TINY_TTS });
    assert.ok(tool instanceof TextToSpeechTool);
    assert.equal(tool.local, true);
    const audio = await tool.call({ text: "hi" });
    assert.ok(audio instanceof AgentAudio);
    assert.equal(audio.samplerate, TINY_TTS_SAMPLING_RATE);
    assert.deepEqual(audio.toRaw(), tinyTtsSamples("hi"));
    assert.equal(tool.isInitialized, true);
    const again = await tool.call({ text: "abc" });
    assert.deepEqual(again.toRaw(), tinyTtsSamples("abc"));
  });

  await t.step(
    "a missing local model is a ConfigurationError on the first call, and the next call retries",
    async () => {
      const tool = await loadTool("text_to_speech", { local: true, modelRepoId: `${TINY_TTS}-missing` });
      await assert.rejects(tool.call({ text: "hi" }), ConfigurationError);
      await assert.rejects(tool.call({ text: "hi" }), ConfigurationError);
      assert.equal(tool.isInitialized, false);
    },
  );

  await t.step("an agent run calls the local tool; the observation is the audio", async () => {
    const tool = await loadTool("text_to_speech", { local: true, modelRepoId: TINY_TTS });
    const { model } = functionModel([
      { calls: [["text_to_speech", { text: "ok" }]] },
      { calls: [["final_answer", { answer: "spoken" }]] },
    ]);
    const agent = new ToolCallingAgent({ tools: [tool], model });
    const result = await agent.run("Say ok", { returnFullResult: true });
    assert.equal(result.state, "succeeded");
    const action = result.steps[1] as { observations?: string; error: unknown };
    assert.equal(action.error, null);
    // A 44-byte WAV header and two 16-bit samples ("ok"): the tool's audio, not kept in a blob store here.
    assert.equal(action.observations, "[AgentAudio audio/wav, 48 bytes, not stored]");
  });
});
