/**
 * Test worker: proves the remote model backends (and the client libraries under them) run inside workerd.
 *
 *   GET /                                  -> "ready" (readiness probe)
 *   GET /run?base={scripted /v1 URL}&hub={Hub stand-in origin}
 *        -> { [backend]: { content, streamed } } after one `generate` and one `generateStream` each
 *
 * The scripted model server replies to every completion; the HF router form reaches it through a redirecting fetch.
 */

import { AzureOpenAIServerModel, LiteLLMModel, MLXModel, type Model, OpenAIServerModel } from "../../../lib/mod.ts";
import { InferenceClientModel } from "../../../lib/models/inference_client_model.ts";
import { HF_HUB_ORIGIN, HF_ROUTER_ORIGIN, redirectingFetch } from "../hf_hub_server.ts";

function backends(base: string, hub: string): Record<string, Model> {
  const origin = base.replace(/\/v1$/, "");
  const fetch = redirectingFetch({ [HF_ROUTER_ORIGIN]: origin, [HF_HUB_ORIGIN]: hub });
  return {
    OpenAIServerModel: new OpenAIServerModel({ modelId: "m", apiBase: base, apiKey: "k" }),
    AzureOpenAIServerModel: new AzureOpenAIServerModel({
      modelId: "dep",
      env: { AZURE_OPENAI_ENDPOINT: origin, AZURE_OPENAI_API_KEY: "k", OPENAI_API_VERSION: "2024-10-21" },
    }),
    "InferenceClientModel (router)": new InferenceClientModel({
      modelId: "workerd/model",
      provider: "groq",
      token: "hf_k",
      clientOptions: { fetch },
    }),
    "InferenceClientModel (endpoint)": new InferenceClientModel({ modelId: "tgi", baseUrl: base, token: "hf_k" }),
    "LiteLLMModel (provider)": new LiteLLMModel({ modelId: "groq/m", providerBaseUrls: { groq: base }, apiKey: "k" }),
    "LiteLLMModel (proxy)": new LiteLLMModel({ modelId: "groq/m", apiBase: base, apiKey: "k" }),
    MLXModel: new MLXModel({ modelId: "m", apiBase: base }),
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const base = url.searchParams.get("base");
    const hub = url.searchParams.get("hub");
    if (url.pathname !== "/run" || !base || !hub) return new Response("ready");
    const results: Record<string, { content: unknown; streamed: string }> = {};
    try {
      for (const [name, model] of Object.entries(backends(base, hub))) {
        const messages = [{ role: "user" as const, content: name }];
        const reply = await model.generate(messages, { stopSequences: ["STOP"] });
        let streamed = "";
        for await (const delta of model.generateStream!(messages, { stopSequences: ["STOP"] })) {
          streamed += delta.content ?? "";
        }
        results[name] = { content: reply.content, streamed };
      }
      return Response.json(results);
    } catch (error) {
      return Response.json({ error: String(error), results }, { status: 500 });
    }
  },
};
