/**
 * `--model-type` to a model, as smolagents' `load_model` does: the options given, else the usual environment
 * variables. The Hugging Face and transformers.js entries are imported only when asked for, so a run with another
 * model never loads them.
 */
import { AzureOpenAIServerModel, LiteLLMModel, type Model, OpenAIServerModel } from "../lib/mod.ts";
import type { RunArguments } from "./arguments.ts";

/** smolagents' default model id for its command. */
export const DEFAULT_MODEL_ID = "Qwen/Qwen2.5-Coder-32B-Instruct";

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
      const { TransformersModel } = await import("../lib/entries/transformers.ts");
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
