/**
 * `loadTool(taskOrRepoId, options)`: transformers-agents' `load_tool`. A task name gives its pipeline tool
 * (remote by default, `local: true` for transformers.js); any other id is a Hub tool repository, loaded by the
 * `fromHub` option (pass `Tool.fromHub` from `@smolstep/smolstep/hub`; this entry does not import it).
 */

import { ConfigurationError } from "../errors.ts";
import type { Tool } from "../tools/tool.ts";
import { DocumentQuestionAnsweringTool, ImageQuestionAnsweringTool } from "./question_answering_tools.ts";
import { SpeechToTextTool, TextToSpeechTool } from "./speech_tools.ts";
import type { TaskToolOptions } from "./task_tool.ts";
import { TranslationTool } from "./translation_tool.ts";

/** The tasks `loadTool` knows, as transformers-agents names them. */
export const TOOL_TASKS = {
  document_question_answering: DocumentQuestionAnsweringTool,
  image_question_answering: ImageQuestionAnsweringTool,
  speech_to_text: SpeechToTextTool,
  text_to_speech: TextToSpeechTool,
  translation: TranslationTool,
} as const;

export type ToolTask = keyof typeof TOOL_TASKS;

/** How a Hub repository id is loaded: `Tool.fromHub` (from `@smolstep/smolstep/hub`) or a function like it. */
export type HubToolLoader = (
  repoId: string,
  options: { token?: string; trustRemoteCode?: boolean },
) => Tool | Promise<Tool>;

export interface LoadToolOptions extends Omit<TaskToolOptions, "model"> {
  /** A checkpoint other than the task's default (transformers-agents' `model_repo_id`). */
  modelRepoId?: string;
  /** Loads a repo id that is not a task; required for those (e.g. `Tool.fromHub` from `@smolstep/smolstep/hub`). */
  fromHub?: HubToolLoader;
  /** Passed to `fromHub`: Hub tools' code runs (in the sandbox) only with `trustRemoteCode: true`. */
  trustRemoteCode?: boolean;
}

/** True for the five task names `loadTool` builds itself. */
export function isToolTask(name: string): name is ToolTask {
  return Object.hasOwn(TOOL_TASKS, name);
}

/**
 * Loads a tool: one of the five tasks (`document_question_answering`, `image_question_answering`,
 * `speech_to_text`, `text_to_speech`, `translation`), or a Hub tool repository through `options.fromHub`. Nothing
 * is fetched or loaded until the tool's first call (its lazy `setup()`).
 */
export function loadTool<Task extends ToolTask>(
  task: Task,
  options?: LoadToolOptions,
): Promise<InstanceType<(typeof TOOL_TASKS)[Task]>>;
export function loadTool(taskOrRepoId: string, options?: LoadToolOptions): Promise<Tool>;
export async function loadTool(taskOrRepoId: string, options: LoadToolOptions = {}): Promise<Tool> {
  const { modelRepoId, fromHub, trustRemoteCode, ...rest } = options;
  if (isToolTask(taskOrRepoId)) {
    const ToolClass: new (options: TaskToolOptions) => Tool = TOOL_TASKS[taskOrRepoId];
    return new ToolClass({ ...rest, ...(modelRepoId ? { model: modelRepoId } : {}) });
  }
  if (!fromHub) {
    throw new ConfigurationError(
      `loadTool("${taskOrRepoId}"): not one of the tasks (${Object.keys(TOOL_TASKS).join(", ")}); to load a Hub ` +
        `tool repository pass \`fromHub: Tool.fromHub\` from "@smolstep/smolstep/hub"`,
    );
  }
  return await fromHub(taskOrRepoId, {
    ...(options.token ? { token: options.token } : {}),
    ...(trustRemoteCode !== undefined ? { trustRemoteCode } : {}),
  });
}
