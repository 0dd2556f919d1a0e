import type { Hono } from "hono";
import type { MultiStepAgent } from "../agents/multi_step_agent.ts";
import { invokeTool, toPlainValue } from "../agents/tool_invocation.ts";
import { SmolstepError } from "../errors.ts";
import type { Tool } from "../tools/tool.ts";
import { AgentMedia } from "../types/agent_media.ts";
import type { AppContext } from "./app_context.ts";
import { HttpError } from "./http_errors.ts";
import { readJson } from "./request_body.ts";

/** A tool that the server may run directly, and the agent whose limits apply. */
export function findDirectTool(
  ctx: AppContext,
  name: string,
  agentName?: string,
): { tool: Tool; agent: MultiStepAgent; agentName: string } {
  const agents: [string, MultiStepAgent][] = agentName === undefined
    ? Object.entries(ctx.options.agents)
    : [[agentName, ctx.agent(agentName)]]; // 404 agent_not_found
  for (const [route, agent] of agents) {
    const tool = agent.tools.get(name);
    if (!tool) continue;
    if (!tool.directCalls) {
      throw new HttpError(403, "direct_calls_disabled", `Tool '${name}' cannot be called outside a run.`);
    }
    return { tool, agent, agentName: route };
  }
  throw new HttpError(404, "tool_not_found", `No tool named '${name}'${agentName ? ` in agent '${agentName}'` : ""}.`);
}

/** How a failed direct call answers: the tool's errors keep their message (the model would have seen it). */
const TOOL_ERRORS: Record<string, [400 | 422 | 504, string]> = {
  tool_call_error: [400, "invalid_arguments"],
  tool_timeout: [504, "tool_timeout"],
};

/**
 * `POST /v1/tools/{name}` (behind the API keys, like all of `/v1/*`): runs one tool with validated arguments as an
 * agent's step calls it (lib/agents/tool_invocation.ts: the same argument checks, the tool's or the agent's time
 * limit, the request's signal; egress rules live in the tools themselves). Media outputs come back as data URLs.
 */
export function mountToolRoutes(app: Hono, ctx: AppContext): void {
  app.post("/v1/tools/:name", async (c) => {
    const name = c.req.param("name");
    const body = await readJson(c, "ToolCallBody");
    const { tool, agent, agentName } = findDirectTool(ctx, name, body.agent);
    const started = Date.now();
    let output: unknown;
    try {
      output = await invokeTool(tool, body.arguments, { signal: c.req.raw.signal, timeoutMs: agent.toolTimeoutMs });
    } catch (error) {
      if (c.req.raw.signal.aborted) throw error;
      const code = error instanceof SmolstepError ? error.code : "";
      const [status, httpCode] = TOOL_ERRORS[code] ?? [422, "tool_failed"];
      throw new HttpError(status, httpCode, (error as Error).message, {}, { retryable: status === 504 });
    }
    const media = output instanceof AgentMedia
      ? { mediaType: output.mimeType, dataUrl: await output.toDataUrl() }
      : undefined;
    return c.json({
      tool: name,
      agent: agentName,
      outputType: tool.outputType,
      output: media ? null : toPlainValue(output),
      ...(media ? { media } : {}),
      durationMs: Date.now() - started,
    });
  });
}
