/**
 * `@smolstep/smolstep/pipelines`: transformers-agents' `PipelineTool` and `loadTool` for its five tasks
 * (`document_question_answering`, `image_question_answering`, `speech_to_text`, `text_to_speech`, `translation`).
 * Remote through `@huggingface/inference` by default (any runtime, Workers included; requests go through the egress
 * guard); `local: true` runs transformers.js pipelines under Deno or Node. A Hub repository id is loaded by the
 * `fromHub` option (`Tool.fromHub` from `@smolstep/smolstep/hub`).
 *
 * @module
 */

export { PipelineTool } from "./pipeline_tool.ts";
export type { PipelineToolOptions } from "./pipeline_tool.ts";
export { DEFAULT_INFERENCE_ENDPOINT, TaskTool } from "./task_tool.ts";
export type { RemoteRoute, TaskToolOptions } from "./task_tool.ts";
export type { LocalPipeline, LocalPipelineOptions } from "./local_pipeline.ts";
export { isToolTask, loadTool, TOOL_TASKS } from "./load_tool.ts";
export type { HubToolLoader, LoadToolOptions, ToolTask } from "./load_tool.ts";
export { DocumentQuestionAnsweringTool, ImageQuestionAnsweringTool } from "./question_answering_tools.ts";
export { SpeechToTextTool, TextToSpeechTool } from "./speech_tools.ts";
export { NLLB_LANGUAGE_CODES, TranslationTool } from "./translation_tool.ts";
