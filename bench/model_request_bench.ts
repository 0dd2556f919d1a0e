/**
 * Request overhead of each remote model backend: one `generate` (and one streamed reply) against the scripted model
 * server on loopback (instant replies), compared with a bare `fetch` of the same request.
 *
 *   deno bench -A bench/model_request_bench.ts
 *
 * The difference to the bare fetch is what a backend adds per call: message preparation, its client library,
 * retries / rate-limit bookkeeping and reply parsing.
 */
import {
  AzureOpenAIServerModel,
  type ChatMessage,
  LiteLLMModel,
  MLXModel,
  type Model,
  OpenAIServerModel,
} from "../lib/mod.ts";
import { InferenceClientModel } from "../lib/models/inference_client_model.ts";
import { startScriptedModelServer } from "../tests/support/scripted_model_server.ts";
import { HF_HUB_ORIGIN, HF_ROUTER_ORIGIN, redirectingFetch, startHfHubServer } from "../tests/support/hf_hub_server.ts";

const server = await startScriptedModelServer({ replies: () => "The answer is 42." });
const hub = await startHfHubServer();
hub.map("bench/model", { groq: "bench-model-groq" });
const origin = server.url.replace(/\/v1$/, "");
const hfFetch = redirectingFetch({ [HF_ROUTER_ORIGIN]: origin, [HF_HUB_ORIGIN]: hub.origin });

const messages: ChatMessage[] = [
  { role: "system", content: "You are a helpful assistant. Answer briefly." },
  { role: "user", content: "What is six times seven?" },
];
const stopSequences = ["Observation:"];
const wireBody = JSON.stringify({ model: "bench", messages, stop: stopSequences });

const backends: Record<string, Model> = {
  OpenAIServerModel: new OpenAIServerModel({ modelId: "bench", apiBase: server.url, apiKey: "k" }),
  AzureOpenAIServerModel: new AzureOpenAIServerModel({
    modelId: "bench",
    azureEndpoint: origin,
    apiKey: "k",
    apiVersion: "2024-10-21",
  }),
  "InferenceClientModel (endpoint)": new InferenceClientModel({ modelId: "bench", baseUrl: server.url, token: "hf_k" }),
  "InferenceClientModel (router, provider)": new InferenceClientModel({
    modelId: "bench/model",
    provider: "groq",
    token: "hf_k",
    clientOptions: { fetch: hfFetch },
  }),
  "LiteLLMModel (provider)": new LiteLLMModel({
    modelId: "groq/bench",
    providerBaseUrls: { groq: server.url },
    apiKey: "k",
  }),
  "LiteLLMModel (proxy)": new LiteLLMModel({ modelId: "groq/bench", apiBase: server.url, apiKey: "k" }),
  MLXModel: new MLXModel({ modelId: "bench", apiBase: server.url }),
};

Deno.bench("bare fetch", { group: "generate", baseline: true }, async () => {
  const response = await fetch(`${server.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer k" },
    body: wireBody,
  });
  const reply = await response.json();
  if (!reply.choices[0].message.content) throw new Error("no content");
});

for (const [name, model] of Object.entries(backends)) {
  Deno.bench(name, { group: "generate" }, async () => {
    const reply = await model.generate(messages, { stopSequences });
    if (reply.content !== "The answer is 42.") throw new Error(`unexpected reply ${reply.content}`);
  });
}

Deno.bench("bare fetch (read SSE)", { group: "stream", baseline: true }, async () => {
  const response = await fetch(`${server.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer k" },
    body: JSON.stringify({ ...JSON.parse(wireBody), stream: true, stream_options: { include_usage: true } }),
  });
  const text = await response.text();
  if (!text.endsWith("data: [DONE]\n\n")) throw new Error("stream not finished");
});

for (const name of ["OpenAIServerModel", "InferenceClientModel (endpoint)"]) {
  Deno.bench(`${name} stream`, { group: "stream" }, async () => {
    let text = "";
    for await (const delta of backends[name].generateStream!(messages, { stopSequences })) text += delta.content ?? "";
    if (text !== "The answer is 42.") throw new Error(`unexpected stream ${text}`);
  });
}
