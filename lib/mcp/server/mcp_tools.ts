import type {
  CallToolResult,
  JSONRPCNotification,
  Tool as McpToolDefinition,
} from "@modelcontextprotocol/sdk/types.js";
import { invokeTool, toPlainValue } from "../../agents/tool_invocation.ts";
import type { AppContext } from "../../http/app_context.ts";
import type { RequestReplay } from "../../http/request_replay.ts";
import { type RunToAnswer, startRunToAnswer } from "../../http/run_to_answer.ts";
import { isFollowLimit } from "../../runs/run_follower.ts";
import { CreateRunBody } from "../../http/http_schemas.ts";
import { findDirectTool } from "../../http/tool_routes.ts";
import type { AgentState } from "../../memory/agent_state.ts";
import type { StepRecord } from "../../memory/step_records.ts";
import { AgentMedia } from "../../types/agent_media.ts";
import { answerContent, endedWithoutAnswer } from "./mcp_content.ts";

/** One progress notification of a `tools/call`: its number, text and `_meta`, and the next step record to report. */
export interface ProgressUpdate {
  progress: number;
  message: string;
  meta?: Record<string, unknown>;
  /** After a step record's notification: the index of the record after it. */
  next?: number;
}

/** What `tools/call` is told as the run goes: progress 0 names the run, then one call per committed step. */
export type StepProgress = (update: ProgressUpdate) => Promise<void>;

/** The `notifications/progress` of `update` for the request's `progressToken`. */
export function progressNotification(progressToken: string | number, update: ProgressUpdate): JSONRPCNotification {
  const { progress, message, meta } = update;
  return {
    jsonrpc: "2.0",
    method: "notifications/progress",
    params: { progressToken, progress, message, ...(meta ? { _meta: meta } : {}) },
  };
}

/** How an agent's tool call goes. */
export interface AgentCallOptions {
  signal: AbortSignal;
  progress?: StepProgress;
  noteRun?: (runId: string) => void;
  /**
   * The new run's id, chosen before it exists, for a call whose stream can be resumed (./mcp_resume.ts): a caller
   * that goes away leaves such a run going (to be resumed) instead of cancelling it. Only with a store.
   */
  runId?: string;
  /**
   * What names the call for its retries (its idempotency key, ./mcp_idempotency.ts): a call sent again answers from
   * this one's run. Such a run is left going when its caller goes away too. Only with a store.
   */
  replay?: RequestReplay;
  /** Reads of the store made for the call before it starts (they count against `events.maxReads`). */
  readsSpent?: number;
}

/** The `_meta` key of a tool result that names the smolstep run (`GET /v1/runs/{runId}`). */
export const RUN_ID_META = "smolstep/runId";

const AGENT_INPUT_SCHEMA = {
  type: "object",
  properties: {
    task: { type: "string", description: "What the agent should do, in plain words." },
    additionalArgs: {
      type: "object",
      description: "Named values the agent's tools and code can use (smolagents' additional_args).",
      additionalProperties: true,
    },
  },
  required: ["task"],
  additionalProperties: false,
} as const;

const AgentArguments = CreateRunBody.pick({ task: true, additionalArgs: true });

/**
 * The MCP tools of an app: one per agent (`{task, additionalArgs?}` in, the final answer out) and, with
 * `exposeTools`, each agent tool that allows direct calls under its own name (the first agent's, as
 * `POST /v1/tools/{name}` picks it; an agent's name wins over a tool's).
 */
export function listTools(ctx: AppContext, exposeTools: boolean): McpToolDefinition[] {
  const tools: McpToolDefinition[] = Object.entries(ctx.options.agents).map(([name, agent]) => ({
    name,
    title: `Agent ${name}`,
    description: agent.description ||
      `Runs the smolstep ${agent.kind} '${name}' on a task until its final answer (at most ${agent.maxSteps} steps).`,
    inputSchema: AGENT_INPUT_SCHEMA as unknown as McpToolDefinition["inputSchema"],
  }));
  if (!exposeTools) return tools;
  const taken = new Set(tools.map((tool) => tool.name));
  for (const agent of Object.values(ctx.options.agents)) {
    for (const tool of agent.tools.values()) {
      if (taken.has(tool.name) || !tool.directCalls) continue;
      taken.add(tool.name);
      tools.push({
        name: tool.name,
        description: tool.description,
        inputSchema: { type: "object", ...tool.parameters } as McpToolDefinition["inputSchema"],
      });
    }
  }
  return tools;
}

/** Whether `name` is one of `listTools`' tools. */
export function hasTool(ctx: AppContext, name: string, exposeTools: boolean): boolean {
  return Object.hasOwn(ctx.options.agents, name) || (exposeTools && listTools(ctx, true).some((t) => t.name === name));
}

/** The checks of `POST /v1/agents/{name}/runs` (a task, at most 1,000 additionalArgs, nothing else). */
export function parseAgentArguments(args: Record<string, unknown>) {
  return AgentArguments.safeParse(args);
}

/** Runs an agent to its final answer (see `startRunToAnswer`): the answer as content, or `isError` and why. */
export async function callAgent(
  ctx: AppContext,
  name: string,
  args: Record<string, unknown>,
  { signal, progress, noteRun, runId: chosenId, replay, readsSpent }: AgentCallOptions,
): Promise<CallToolResult> {
  const parsed = parseAgentArguments(args);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "arguments"}: ${issue.message}`);
    return toolError(`Invalid arguments: ${problems.join("; ")}`);
  }
  const { task, additionalArgs } = parsed.data;
  let run: RunToAnswer;
  try {
    // A caller that goes away has its run cancelled, unless it may resume it or call again with its key; without a
    // store it runs in memory.
    run = await startRunToAnswer(ctx, { agent: name, task, additionalArgs }, {
      signal,
      onAbort: chosenId || replay ? "leave" : "cancel",
      withoutStore: "memory",
      runId: chosenId,
      replay,
      readsSpent,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    return toolError(`The agent could not run: ${(error as Error).message}`);
  }
  const { runId } = run;
  if (runId) noteRun?.(runId);
  // Progress 0 names the run, so a host can open it (`GET /v1/runs/{runId}`) while it runs.
  if (progress && runId) await progress({ progress: 0, message: runStarted(runId), meta: { [RUN_ID_META]: runId } });
  return await answerOf(run, { signal, progress });
}

/** The text of progress 0. */
export function runStarted(runId: string): string {
  return `Run ${runId} started`;
}

/**
 * Follows `run` to its result: a progress notification per step record (numbered on from `progressed`), then its
 * answer as content, or `isError` and why. A follow that reaches `events.maxReads` throws `follow_limit_reached`.
 */
export async function answerOf(
  run: RunToAnswer,
  { signal, progress, progressed = 0 }: { signal: AbortSignal; progress?: StepProgress; progressed?: number },
): Promise<CallToolResult> {
  const { runId } = run;
  let state: AgentState | undefined;
  try {
    let records = progressed;
    for await (const item of run.progress) {
      if (item.type === "step" && progress) {
        await progress({ progress: ++records, message: describeStep(item.step), next: item.index + 1 });
      }
      if (item.type === "end") state = item.state;
    }
  } catch (error) {
    // A follow at its read limit is no failure: the run goes on (the caller ends its request, see ./mcp_resume.ts).
    if (signal.aborted || isFollowLimit(error)) throw error;
    return stepFailed(run, error);
  }
  // Only a caller that went away stops following before the end.
  if (!state) throw signal.reason ?? new DOMException("The request was aborted.", "AbortError");
  // Out of steps, the agent was asked for an answer anyway (as in smolagents): it is an answer, `_meta` says how.
  const answered = state.status === "succeeded" || (state.status === "max_steps_error" && state.finalAnswer != null);
  const result = answered ? await answerContent(state.finalAnswer, run.blobs) : endedWithoutAnswer(state, runId);
  return {
    ...result,
    _meta: { ...(runId ? { [RUN_ID_META]: runId } : {}), "smolstep/status": state.status, "smolstep/mode": run.mode },
  };
}

/**
 * A step taken in the request that threw: the run is as it was before it (`running` at its last committed step), so
 * the result names it and how to go on; a background run's failures end it `failed` instead (an answer above).
 */
function stepFailed(run: RunToAnswer, error: unknown): CallToolResult {
  const message = (error as Error).message;
  const meta = { ...(run.runId ? { [RUN_ID_META]: run.runId } : {}), "smolstep/mode": run.mode };
  if (run.mode !== "kv") return { ...toolError(`The agent could not run: ${message}`), _meta: meta };
  const text = `A step of run ${run.runId} failed: ${message}. The run is still 'running' at its last step: ` +
    `continue it with POST /v1/runs/${run.runId}/steps, or cancel it with POST /v1/runs/${run.runId}/cancel.`;
  return { ...toolError(text), _meta: { ...meta, "smolstep/status": "running" } };
}

/**
 * Runs one agent tool as `POST /v1/tools/{name}` does (lib/http/tool_routes.ts: the same lookup, refusals,
 * argument checks and time limits); media outputs come back as image/audio content.
 */
export async function callDirectTool(
  ctx: AppContext,
  name: string,
  args: Record<string, unknown>,
  signal: AbortSignal,
): Promise<CallToolResult> {
  try {
    const { tool, agent } = findDirectTool(ctx, name);
    const output = await invokeTool(tool, args, { signal, timeoutMs: agent.toolTimeoutMs });
    if (output instanceof AgentMedia) return await answerContent(await output.toDataUrl(), undefined);
    return await answerContent(toPlainValue(output), undefined);
  } catch (error) {
    if (signal.aborted) throw error;
    return toolError((error as Error).message);
  }
}

/**
 * The result of a call that cannot be resumed (an older client, a batch) once its request has read its run
 * `events.maxReads` times: the run goes on, and the result says where to read it.
 */
export function stillRunning(runId: string, keyed = false): CallToolResult {
  const text = `The run ${runId} is still running, but this request may not follow it any longer (it may read it ` +
    `only so many times: events.maxReads, SMOLSTEP_FOLLOW_MAX_READS). It goes on: read its answer with ` +
    `GET /v1/runs/${runId}, or follow GET /v1/runs/${runId}/events` +
    (keyed ? ", or call the tool again with the same idempotency key to wait on for its answer." : ".");
  return {
    ...toolError(text),
    _meta: { [RUN_ID_META]: runId, "smolstep/status": "running", "smolstep/mode": "background" },
  };
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** The text of a step record's progress notification. */
export function describeStep(step: StepRecord): string {
  switch (step.type) {
    case "action": {
      const calls = step.toolCalls.map((call) => call.name).join(", ");
      return `Step ${step.stepNumber}${calls ? `: ${calls}` : ""}${step.error ? ` (error: ${step.error.type})` : ""}`;
    }
    case "planning":
      return "Planning";
    case "final_answer":
      return "Final answer";
    default:
      return step.type;
  }
}
