/**
 * `--model-type` to a model, as smolagents' `load_model` does: the options given, else the usual environment
 * variables. The Hugging Face and transformers.js entries are imported only when asked for, so a run with another
 * model never loads them. transformers.js (with ONNX Runtime, hundreds of MB) is imported through a name the compiler
 * does not follow, so the compiled binary leaves it out: TransformersModel needs `deno task cli`.
 */
import { AzureOpenAIServerModel, LiteLLMModel, type Model, OpenAIServerModel } from "../lib/mod.ts";
import type { RunArguments } from "./arguments.ts";

/** smolagents' default model id for its command. */
export const DEFAULT_MODEL_ID = "Qwen/Qwen2.5-Coder-32B-Instruct";

const TRANSFORMERS_ENTRY = new URL("../lib/entries/transformers.ts", import.meta.url).href;

/** What this file uses of lib/entries/transformers.ts (a type import would bring it back into the graph). */
type TransformersEntry = { TransformersModel: new (options: { modelId: string }) => Model };

type ModelArguments = Pick<RunArguments, "modelType" | "modelId" | "apiBase" | "apiKey" | "provider">;

export async function createCliModel(args: ModelArguments, env: Record<string, string | undefined>): Promise<Model> {
  const modelId = args.modelId ?? DEFAULT_MODEL_ID;
  switch (args.modelType) {
    case "OpenAIServerModel":
      return new OpenAIServerModel({
        modelId,
        apiBase: args.apiBase ?? env.OPENAI_BASE_URL,
        // A local OpenAI-compatible server may need no key; the client still wants a string.
        apiKey: args.apiKey ?? env.OPENAI_API_KEY ?? "no-key",
      });
    case "LiteLLMModel":
      return new LiteLLMModel({ modelId, apiBase: args.apiBase, apiKey: args.apiKey, env });
    case "AzureOpenAIServerModel":
      return new AzureOpenAIServerModel({ modelId, azureEndpoint: args.apiBase, apiKey: args.apiKey, env });
    case "TransformersModel": {
      const { TransformersModel } = await import(TRANSFORMERS_ENTRY) as TransformersEntry;
      return new TransformersModel({ modelId });
    }
    case "InferenceClientModel": {
      const { InferenceClientModel } = await import("../lib/entries/hf.ts");
      return new InferenceClientModel({
        modelId,
        provider: args.provider,
        baseUrl: args.apiBase,
        token: args.apiKey ?? env.HF_TOKEN,
      });
    }
  }
}
