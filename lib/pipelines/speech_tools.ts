/**
 * transformers-agents' `speech_to_text` (`SpeechToTextTool`, name `transcriber`) and `text_to_speech`
 * (`TextToSpeechTool`, name `text_to_speech`). Remote: `@huggingface/inference`'s `automaticSpeechRecognition`
 * (the audio file as the request body, answer `{text}`) and `textToSpeech` (JSON `{inputs: text}`, answer: the audio
 * file). Local: transformers.js' `automatic-speech-recognition` (Whisper; 16 kHz WAV input, decoded here, not
 * resampled) and `text-to-speech` (VITS models such as MMS-TTS: no speaker embeddings needed).
 */

import { automaticSpeechRecognition, textToSpeech } from "@huggingface/inference";
import type { ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";
import { AgentAudio } from "../types/agent_audio.ts";
import { AgentText } from "../types/agent_text.ts";
import { sniffMediaType } from "../stores/media_type.ts";
import { mediaBytes, toBlob } from "./media_input.ts";
import type { LocalPipeline } from "./local_pipeline.ts";
import { type RemoteRoute, TaskTool, type TaskToolOptions } from "./task_tool.ts";

/** Transcribes audio to text (`load_tool("speech_to_text")`; smolagents' default `transcriber` tool). */
export class SpeechToTextTool extends TaskTool<{ audio: unknown }, AgentText, { audio: Uint8Array }, string> {
  readonly name: string = "transcriber";
  readonly description: string = "This is a tool that transcribes an audio into text. It returns the transcribed text.";
  readonly inputs: ToolInputs = {
    audio: { type: "audio", description: "The audio to transcribe: an audio file (e.g. WAV) or its https: URL." },
  };
  readonly outputType: ToolInputType = "string";
  readonly defaultCheckpoint: string = "distil-whisper/distil-large-v3";
  readonly defaultLocalCheckpoint: string | undefined = "onnx-community/whisper-base";
  readonly localTask: string | undefined = "automatic-speech-recognition";
  readonly #options: TaskToolOptions;

  constructor(options: TaskToolOptions = {}) {
    super(options);
    this.#options = options;
  }

  async encode(args: { audio: unknown }): Promise<{ audio: Uint8Array }> {
    return { audio: await mediaBytes(args.audio, "audio", this.#options.egress) };
  }

  protected async remote({ audio }: { audio: Uint8Array }, route: RemoteRoute): Promise<string> {
    const inputs = toBlob(audio, sniffMediaType(audio) ?? "audio/wav");
    return (await automaticSpeechRecognition({ ...route.args, inputs }, route.options)).text;
  }

  protected async runLocal({ audio }: { audio: Uint8Array }, pipeline: LocalPipeline): Promise<string> {
    const samples = await new AgentAudio(audio).samples();
    const output = await pipeline.run(samples) as { text: string };
    return output.text;
  }

  decode(text: string): AgentText {
    return new AgentText(text);
  }
}

/** Reads text out loud (`load_tool("text_to_speech")`); returns `AgentAudio`. */
export class TextToSpeechTool extends TaskTool<{ text: string }, AgentAudio, { text: string }, AgentAudio> {
  readonly name: string = "text_to_speech";
  readonly description: string =
    "This is a tool that reads an English text out loud. It returns a waveform object containing the sound.";
  readonly inputs: ToolInputs = { text: { type: "string", description: "The text to read out loud (in English)" } };
  readonly outputType: ToolInputType = "audio";
  readonly defaultCheckpoint: string = "microsoft/speecht5_tts";
  readonly defaultLocalCheckpoint: string | undefined = "Xenova/mms-tts-eng";
  readonly localTask: string | undefined = "text-to-speech";

  encode(args: { text: string }): { text: string } {
    return { text: args.text };
  }

  protected async remote({ text }: { text: string }, route: RemoteRoute): Promise<AgentAudio> {
    const audio = await textToSpeech({ ...route.args, inputs: text }, route.options);
    const bytes = new Uint8Array(await audio.arrayBuffer());
    return new AgentAudio(bytes, audio.type ? { mimeType: audio.type.split(";")[0] } : {});
  }

  protected async runLocal({ text }: { text: string }, pipeline: LocalPipeline): Promise<AgentAudio> {
    const output = await pipeline.run(text) as { audio: Float32Array; sampling_rate: number };
    return new AgentAudio(output.audio, { samplerate: output.sampling_rate });
  }

  decode(audio: AgentAudio): AgentAudio {
    return audio;
  }
}
