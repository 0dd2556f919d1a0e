/**
 * transformers-agents' `document_question_answering` (`DocumentQuestionAnsweringTool`, name `document_qa`) and
 * `image_question_answering` (`ImageQuestionAnsweringTool`, name `image_qa`). Remote: `@huggingface/inference`'s
 * `documentQuestionAnswering` / `visualQuestionAnswering` (JSON `{inputs: {question, image: <base64>}}`, answer
 * `[{answer, score, start?, end?}]`). Local: transformers.js' `document-question-answering` pipeline (Donut); it has
 * no visual-question-answering pipeline, so `image_qa` runs remotely only.
 */

import { documentQuestionAnswering, visualQuestionAnswering } from "@huggingface/inference";
import type { ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";
import { AgentText } from "../types/agent_text.ts";
import { mediaBytes, toBlob } from "./media_input.ts";
import type { LocalPipeline } from "./local_pipeline.ts";
import { type RemoteRoute, TaskTool, type TaskToolOptions } from "./task_tool.ts";

type Question = { image: Uint8Array; question: string };

/** What differs between the two question-answering tools. */
interface QuestionToolSpec {
  name: string;
  description: string;
  /** The image argument's name (`document` or `image`). */
  imageInput: string;
  defaultCheckpoint: string;
  defaultLocalCheckpoint: string | undefined;
  localTask: string | undefined;
  remote(inputs: { image: Blob; question: string }, route: RemoteRoute): Promise<string>;
}

class QuestionTool<Args extends Record<string, unknown>> extends TaskTool<Args, AgentText, Question, string> {
  readonly name: string;
  readonly description: string;
  readonly inputs: ToolInputs;
  readonly outputType: ToolInputType = "string";
  readonly defaultCheckpoint: string;
  readonly defaultLocalCheckpoint: string | undefined;
  readonly localTask: string | undefined;
  readonly #spec: QuestionToolSpec;
  readonly #options: TaskToolOptions;

  constructor(spec: QuestionToolSpec, options: TaskToolOptions = {}) {
    super(options);
    ({ name: this.name, description: this.description } = spec);
    this.inputs = {
      [spec.imageInput]: { type: "image", description: "The image containing the information." },
      question: { type: "string", description: "The question in English" },
    };
    this.defaultCheckpoint = spec.defaultCheckpoint;
    this.defaultLocalCheckpoint = spec.defaultLocalCheckpoint;
    this.localTask = spec.localTask;
    this.#spec = spec;
    this.#options = options;
  }

  async encode(args: Args): Promise<Question> {
    const image = await mediaBytes(args[this.#spec.imageInput], "image", this.#options.egress);
    return { image, question: args.question as string };
  }

  protected remote({ image, question }: Question, route: RemoteRoute): Promise<string> {
    return this.#spec.remote({ image: toBlob(image), question }, route);
  }

  protected async runLocal({ image, question }: Question, pipeline: LocalPipeline): Promise<string> {
    const picture = await pipeline.library.RawImage.fromBlob(toBlob(image));
    const [first] = await pipeline.run(picture, question) as Array<{ answer: string }>;
    return first?.answer ?? "";
  }

  decode(answer: string): AgentText {
    return new AgentText(answer);
  }
}

/** Answers a question about a document image (`load_tool("document_question_answering")`). */
export class DocumentQuestionAnsweringTool extends QuestionTool<{ document: unknown; question: string }> {
  constructor(options: TaskToolOptions = {}) {
    super({
      name: "document_qa",
      description:
        "This is a tool that answers a question about an document (pdf). It takes an input named `document` which should be the document containing the information, as well as a `question` that is the question about the document. It returns a text that contains the answer to the question.",
      imageInput: "document",
      defaultCheckpoint: "naver-clova-ix/donut-base-finetuned-docvqa",
      defaultLocalCheckpoint: "Xenova/donut-base-finetuned-docvqa",
      localTask: "document-question-answering",
      remote: async (inputs, route) =>
        (await documentQuestionAnswering({ ...route.args, inputs }, route.options)).answer,
    }, options);
  }
}

/** Answers a question about an image (`load_tool("image_question_answering")`); remote only. */
export class ImageQuestionAnsweringTool extends QuestionTool<{ image: unknown; question: string }> {
  constructor(options: TaskToolOptions = {}) {
    super({
      name: "image_qa",
      description:
        "This is a tool that answers a question about an image. It returns a text that is the answer to the question.",
      imageInput: "image",
      defaultCheckpoint: "dandelin/vilt-b32-finetuned-vqa",
      defaultLocalCheckpoint: undefined, // transformers.js has no visual-question-answering pipeline
      localTask: undefined,
      remote: async (inputs, route) =>
        (await visualQuestionAnswering({ ...route.args, inputs }, route.options)).answer ?? "",
    }, options);
  }
}
