import assert from "node:assert/strict";
import { createClient, type DeltaEvent } from "../../lib/client.ts";
import type { ApiClient } from "./http_client.ts";
import {
  type ReceivedRequest,
  type ScriptedModelServer,
  type ScriptedReplyObject,
  toolCallReply,
} from "./scripted_model_server.ts";

/**
 * A stateless script for benchmarks: `toolSteps` calculator calls, then the final answer, decided from how many tool
 * results the request already carries ("tool" messages, or user messages with an "Observation:", smolagents' layout).
 */
export function calculatorRunReply(request: ReceivedRequest, toolSteps: number): ScriptedReplyObject {
  const toolResults = (request.body.messages ?? [])
    .filter((m) => m.role === "tool" || JSON.stringify(m.content ?? "").includes("Observation:")).length;
  return toolResults < toolSteps
    ? { toolCalls: [{ name: "calculator", arguments: { expression: `${toolResults} + 1` } }] }
    : { toolCalls: [{ name: "final_answer", arguments: { answer: "done" } }] };
}

/**
 * Full runs of the example `assistant` agent over HTTP, shared by the in-process, Deno-entry and Workers-entry
 * tests: the scripted model asks for a calculation, then answers with its result.
 */
export function scriptCalculation(server: ScriptedModelServer): void {
  server.enqueue(
    toolCallReply("calculator", { expression: "6 * 7" }),
    toolCallReply("final_answer", { answer: "6 times 7 is 42" }),
  );
}

/** KV mode: create, step until done (one step per request), read back. */
export async function kvFullRun(api: ApiClient, server: ScriptedModelServer, agent = "assistant"): Promise<string> {
  scriptCalculation(server);
  const created = await api.post(`/v1/agents/${agent}/runs`, { task: "What is 6 times 7?" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runId = created.body.runId as string;
  assert.match(runId, /^[0-9a-f-]{36}$/);
  assert.equal(created.body.status, "running");

  const first = await api.post(`/v1/runs/${runId}/steps`);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.status, "running");
  assert.equal(first.body.step.observations, "42");
  assert.deepEqual(first.body.step.toolCalls.map((c: { name: string }) => c.name), ["calculator"]);
  assert.equal("finalAnswer" in first.body, false);

  const second = await api.post(`/v1/runs/${runId}/steps`);
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.status, "succeeded");
  assert.equal(second.body.finalAnswer, "6 times 7 is 42");

  const finished = await api.post(`/v1/runs/${runId}/steps`);
  assert.equal(finished.status, 409);
  assert.equal(finished.body.error.code, "run_finished");

  const run = await api.get(`/v1/runs/${runId}`);
  assert.equal(run.status, 200);
  assert.equal(run.body.status, "succeeded");
  assert.equal(run.body.task, "What is 6 times 7?");
  assert.deepEqual(run.body.steps.map((s: { type: string }) => s.type), ["task", "action", "action", "final_answer"]);
  assert.equal(run.body.finalAnswer, "6 times 7 is 42");
  assert.ok(run.body.tokenUsage.inputTokens > 0 && run.body.tokenUsage.outputTokens > 0);
  return runId;
}

/** Stateless mode: the client carries the signed state from call to call; nothing is stored. */
export async function statelessFullRun(api: ApiClient, server: ScriptedModelServer, agent = "assistant") {
  scriptCalculation(server);
  const created = await api.post(`/v1/agents/${agent}/runs`, { task: "What is 6 times 7?", stateless: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.runId, undefined);
  let token = created.body.state as string;
  assert.match(token, /^st2\./);

  const first = await api.post(`/v1/agents/${agent}/steps`, { state: token });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.status, "running");
  assert.equal(first.body.step.observations, "42");
  token = first.body.state;

  const second = await api.post(`/v1/agents/${agent}/steps`, { state: token });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.status, "succeeded");
  assert.equal(second.body.finalAnswer, "6 times 7 is 42");

  // The final token sent again: refused as KV mode refuses a step on an ended run.
  const again = await api.post(`/v1/agents/${agent}/steps`, { state: second.body.state });
  assert.deepEqual([again.status, again.body.error?.code], [409, "run_finished"], JSON.stringify(again.body));
  return { firstToken: created.body.state as string, finalToken: second.body.state as string };
}

/**
 * The same run created with its first step (`firstStep: true`), in stateless or KV mode: two requests, each a step.
 */
export async function firstStepRun(
  api: ApiClient,
  server: ScriptedModelServer,
  stateless: boolean,
  agent = "assistant",
) {
  scriptCalculation(server);
  const first = await api.post(`/v1/agents/${agent}/runs`, { task: "What is 6 times 7?", stateless, firstStep: true });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.deepEqual([first.body.status, first.body.step.observations], ["running", "42"]);
  const next = stateless
    ? await api.post(`/v1/agents/${agent}/steps`, { state: first.body.state })
    : await api.post(`/v1/runs/${first.body.runId}/steps`);
  assert.equal(next.status, 200, JSON.stringify(next.body));
  assert.deepEqual([next.body.status, next.body.finalAnswer], ["succeeded", "6 times 7 is 42"]);
  if (stateless) {
    const again = await api.post(`/v1/agents/${agent}/steps`, { state: first.body.state });
    assert.deepEqual([again.status, again.body.error.code], [409, "token_replayed"]);
  } else {
    const read = await api.get(`/v1/runs/${first.body.runId}`);
    assert.deepEqual([read.body.status, read.body.stepNumber], ["succeeded", 2]);
  }
}

/**
 * The example `coder` CodeAgent over three invocations: variables set in steps 1 and 2 are used in step 3, so they
 * must travel in the run state (the signed token in stateless mode).
 */
export function scriptCodeRun(server: ScriptedModelServer): void {
  server.enqueue(
    'Thought: compute first.\n<code>\nconst base = await calculator({ expression: "6 * 7" });\nconsole.log("base is", base);\n',
    'Thought: now the words.\n<code>\nconst words = await reverse_words({ text: "edge the on agents smol" });\nwords.length\n</code>',
    "Thought: combine both.\n<code>\nfinal_answer(`${words} says ${base}`);\n</code>",
  );
}

export async function statelessCodeRun(api: ApiClient, server: ScriptedModelServer, agent = "coder") {
  scriptCodeRun(server);
  const created = await api.post(`/v1/agents/${agent}/runs`, { task: "Use the tools.", stateless: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const first = await api.post(`/v1/agents/${agent}/steps`, { state: created.body.state });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.step.observations, "Execution logs:\nbase is 42\n");
  const second = await api.post(`/v1/agents/${agent}/steps`, { state: first.body.state });
  assert.equal(second.body.step.observations, "Execution logs:\n\nLast output from code snippet:\n23");
  const third = await api.post(`/v1/agents/${agent}/steps`, { state: second.body.state });
  assert.equal(third.status, 200, JSON.stringify(third.body));
  assert.equal(third.body.status, "succeeded");
  assert.equal(third.body.finalAnswer, "smol agents on the edge says 42");
  assert.equal(third.body.step.code, "final_answer(`${words} says ${base}`);");
}

/**
 * The example `researcher` agent in KV mode against the web fixture server (tests/support/web_fixture_server.ts;
 * the entry's SMOLSTEP_SEARCH_BASE_URL and SMOLSTEP_EGRESS_ALLOW_HOSTS point at it): a search, a page, an answer.
 */
export async function researcherRun(api: ApiClient, server: ScriptedModelServer, siteOrigin: string): Promise<void> {
  server.enqueue(
    toolCallReply("web_search", { query: "smolagents" }),
    toolCallReply("visit_webpage", { url: `${siteOrigin}/page` }),
    toolCallReply("final_answer", { answer: "One step per invocation." }),
  );
  const created = await api.post("/v1/agents/researcher/runs", { task: "How do agents run on the edge?" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runId = created.body.runId as string;
  const search = await api.post(`/v1/runs/${runId}/steps`);
  assert.equal(search.status, 200, JSON.stringify(search.body));
  assert.match(search.body.step.observations, /^## Search Results\n\n\[GitHub - huggingface\/smolagents/);
  const page = await api.post(`/v1/runs/${runId}/steps`);
  assert.equal(page.status, 200, JSON.stringify(page.body));
  assert.match(page.body.step.observations, /^# Agents & the edge/);
  const done = await api.post(`/v1/runs/${runId}/steps`);
  assert.equal(done.body.status, "succeeded", JSON.stringify(done.body));
  assert.equal(done.body.finalAnswer, "One step per invocation.");
}

/**
 * The example `assistant` stepped with streamed step responses (`Accept: text/event-stream`) through the typed
 * client, stateless then KV: every model step streams deltas whose text is the step's model output, and the last
 * item is the step response.
 */
export async function streamedRuns(baseUrl: string, server: ScriptedModelServer, apiKey?: string): Promise<void> {
  const client = createClient({ baseUrl, apiKey });
  const check = async (target: Parameters<typeof client.streamStep>[0]) => {
    const deltas: DeltaEvent[] = [];
    let response: Awaited<ReturnType<typeof client.step>> | undefined;
    for await (const event of client.streamStep(target)) {
      if (event.type === "delta") deltas.push(event);
      else response = event.response as typeof response;
    }
    assert.ok(response && deltas.length > 0, "deltas, then the step response");
    const toolCall = deltas.map((d) => d.toolCall?.arguments ?? "").join("");
    assert.ok(toolCall.length > 0, "the tool call's arguments stream");
    return response!;
  };
  server.enqueue(
    { content: "Computing.", toolCalls: [{ name: "calculator", arguments: { expression: "6 * 7" } }] },
    toolCallReply("final_answer", { answer: "6 times 7 is 42" }),
  );
  const { state } = await client.startStatelessRun("assistant", { task: "What is 6 times 7?" });
  const first = await check({ agent: "assistant", state }) as unknown as { state: string; status: string };
  assert.equal(first.status, "running");
  const second = await check({ agent: "assistant", state: first.state });
  assert.equal(second.finalAnswer, "6 times 7 is 42");

  scriptCalculation(server);
  const { runId } = await client.startRun("assistant", { task: "What is 6 times 7?" });
  assert.equal((await check(runId)).status, "running");
  const last = await check(runId);
  assert.deepEqual([last.status, last.finalAnswer, last.replayed], ["succeeded", "6 times 7 is 42", false]);
}

/**
 * Creates a KV run of `agent` in-process (`app.request`, no network) and steps it until it ends; throws unless it
 * succeeded. The benchmarks' unit of work.
 */
export async function kvRunInProcess(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  agent: string,
  task: string,
): Promise<void> {
  const created = await app.request(`/v1/agents/${agent}/runs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ task }),
  });
  const { runId } = await created.json();
  let reply: { status?: string } = { status: "running" };
  while (reply.status === "running") {
    reply = await (await app.request(`/v1/runs/${runId}/steps`, { method: "POST" })).json();
  }
  if (reply.status !== "succeeded") throw new Error(`the run ended ${JSON.stringify(reply).slice(0, 300)}`);
}
