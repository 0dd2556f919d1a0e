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

abstract class QuestionTool<Args extends Record<string, unknown>> extends TaskTool<Args, AgentText, Question, string> {
  readonly outputType: ToolInputType = "string";
  readonly #options: TaskToolOptions;

  constructor(options: TaskToolOptions = {}) {
    super(options);
    this.#options = options;
  }

  protected async question(image: unknown, question: string): Promise<Question> {
    return { image: await mediaBytes(image, "image", this.#options.egress), question };
  }

  decode(answer: string): AgentText {
    return new AgentText(answer);
  }
}

/** Answers a question about a document image (`load_tool("document_question_answering")`). */
export class DocumentQuestionAnsweringTool extends QuestionTool<{ document: unknown; question: string }> {
  readonly name: string = "document_qa";
  readonly description: string =
    "This is a tool that answers a question about an document (pdf). It takes an input named `document` which should be the document containing the information, as well as a `question` that is the question about the document. It returns a text that contains the answer to the question.";
  readonly inputs: ToolInputs = {
    document: { type: "image", description: "The image containing the information." },
    question: { type: "string", description: "The question in English" },
  };
  readonly defaultCheckpoint: string = "naver-clova-ix/donut-base-finetuned-docvqa";
  readonly defaultLocalCheckpoint: string | undefined = "Xenova/donut-base-finetuned-docvqa";
  readonly localTask: string | undefined = "document-question-answering";

  encode(args: { document: unknown; question: string }): Promise<Question> {
    return this.question(args.document, args.question);
  }

  protected async remote({ image, question }: Question, route: RemoteRoute): Promise<string> {
    const inputs = { image: toBlob(image), question };
    return (await documentQuestionAnswering({ ...route.args, inputs }, route.options)).answer;
  }

  protected async runLocal({ image, question }: Question, pipeline: LocalPipeline): Promise<string> {
    const picture = await pipeline.library.RawImage.fromBlob(toBlob(image));
    const [first] = await pipeline.run(picture, question) as Array<{ answer: string }>;
    return first?.answer ?? "";
  }
}

/** Answers a question about an image (`load_tool("image_question_answering")`); remote only. */
export class ImageQuestionAnsweringTool extends QuestionTool<{ image: unknown; question: string }> {
  readonly name: string = "image_qa";
  readonly description: string =
    "This is a tool that answers a question about an image. It returns a text that is the answer to the question.";
  readonly inputs: ToolInputs = {
    image: { type: "image", description: "The image containing the information." },
    question: { type: "string", description: "The question in English" },
  };
  readonly defaultCheckpoint: string = "dandelin/vilt-b32-finetuned-vqa";
  readonly defaultLocalCheckpoint: string | undefined = undefined;
  readonly localTask: string | undefined = undefined;

  encode(args: { image: unknown; question: string }): Promise<Question> {
    return this.question(args.image, args.question);
  }

  protected async remote({ image, question }: Question, route: RemoteRoute): Promise<string> {
    const inputs = { image: toBlob(image), question };
    return (await visualQuestionAnswering({ ...route.args, inputs }, route.options)).answer ?? "";
  }

  protected runLocal(): Promise<string> {
    return Promise.reject(new Error("image_qa has no local pipeline")); // setup() refuses local first
  }
}
