/**
 * The example `assistant` through the OpenAI-compatible endpoint with the official `openai` client, shared by the
 * Deno-entry and Workers-entry tests: the models, one completion and one stream (both entries have a queue, so the
 * runs are background runs the request follows).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { apiClient } from "./http_client.ts";
import { scriptCalculation } from "./run_scenarios.ts";
import type { ScriptedModelServer } from "./scripted_model_server.ts";

export async function chatCompletionRuns(baseUrl: string, model: ScriptedModelServer, apiKey?: string) {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: apiKey ?? "unused", maxRetries: 0 });
  assert.deepEqual((await client.models.list()).data.map((m) => m.id), ["assistant", "researcher", "coder"]);
  model.reset();
  scriptCalculation(model);
  const messages = [{ role: "user" as const, content: "What is 6 * 7?" }];
  const { data, response } = await client.chat.completions.create({ model: "assistant", messages }).withResponse();
  assert.equal(data.choices[0].message.content, "6 times 7 is 42");
  assert.equal(data.choices[0].finish_reason, "stop");
  assert.ok(data.usage && data.usage.total_tokens > 0);
  const runId = response.headers.get("X-Smolstep-Run-Id");
  const run = await apiClient(baseUrl, { apiKey }).get(`/v1/runs/${runId}`);
  assert.equal(run.body.status, "succeeded");
  assert.equal(run.body.background, true, "with a queue the run steps in queue deliveries");

  model.reset();
  scriptCalculation(model);
  const stream = await client.chat.completions.create({
    model: "assistant",
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let reasoning = "";
  let content = "";
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
    reasoning += delta?.reasoning_content ?? "";
    content += delta?.content ?? "";
    usage = chunk.usage ?? usage;
  }
  assert.equal(content, "6 times 7 is 42");
  assert.match(reasoning, /Calling `calculator`/);
  assert.ok(usage && usage.total_tokens > 0);
}
