import {
  calculatorTool,
  CodeAgent,
  type CodeExecutor,
  ConfigurationError,
  type EgressPolicy,
  type Model,
  type ModelTimeLimits,
  modelTimeLimits,
  type MultiStepAgent,
  OpenAIServerModel,
  ToolCallingAgent,
  VisitWebpageTool,
  WebSearchTool,
} from "../lib/mod.ts";
import { currentTimeTool, reverseWordsTool, textStatsTool } from "./example_tools.ts";
import {
  egressFromEnv,
  type ResearchEnv,
  type ServerEnv,
  stepTimeoutFromEnv,
  webSearchFromEnv,
  wholeNumber,
} from "./server_options.ts";

/** The environment both entries read (Deno env or Workers vars/secrets). */
export interface AgentEnv extends
  Pick<
    ServerEnv,
    | "SMOLSTEP_LOCK_TTL_MS"
    | "SMOLSTEP_STEP_TIMEOUT_MS"
    | "SMOLSTEP_EGRESS_ALLOW_PRIVATE"
    | "SMOLSTEP_EGRESS_ALLOW_HOSTS"
  >,
  ResearchEnv {
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  SMOLSTEP_MODEL?: string;
  HF_TOKEN?: string;
  /** Per-attempt model timeout (ms; default: what fits the step deadline with the retries, at most 60 s). */
  SMOLSTEP_MODEL_TIMEOUT_MS?: string;
  /** Model retries after the first attempt, on 429 / 5xx / network errors / timeouts (default 2). */
  SMOLSTEP_MODEL_MAX_RETRIES?: string;
  /** First backoff between model attempts, doubling per retry (ms; default 1000). */
  SMOLSTEP_MODEL_RETRY_DELAY_MS?: string;
}

/**
 * The example model's time limits: the variables set, the rest sized so that every attempt and every wait fit in
 * the step deadline (SMOLSTEP_STEP_TIMEOUT_MS, by default 90% of SMOLSTEP_LOCK_TTL_MS); see `modelTimeLimits`.
 */
export function exampleModelTimeLimits(env: AgentEnv): ModelTimeLimits {
  const vars = env as Record<string, string | undefined>;
  return modelTimeLimits(stepTimeoutFromEnv(env), {
    timeoutMs: wholeNumber(vars, "SMOLSTEP_MODEL_TIMEOUT_MS"),
    maxRetries: wholeNumber(vars, "SMOLSTEP_MODEL_MAX_RETRIES", 0),
    baseDelayMs: wholeNumber(vars, "SMOLSTEP_MODEL_RETRY_DELAY_MS", 0),
  });
}

const HF_ROUTER_URL = "https://router.huggingface.co/v1";

/**
 * The model the example agents use: any OpenAI-compatible server (`OPENAI_API_KEY`, `OPENAI_BASE_URL`), or
 * Hugging Face's router with `HF_TOKEN`. With neither, a model whose every call fails with a clear
 * configuration error, so the server still starts and serves everything that needs no model.
 */
export function createExampleModel(env: AgentEnv): Model {
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) {
    return new OpenAIServerModel({
      ...exampleModelTimeLimits(env),
      modelId: env.SMOLSTEP_MODEL ?? "gpt-4o-mini",
      apiBase: env.OPENAI_BASE_URL,
      // A local OpenAI-compatible server may need no key; the client still wants a string.
      apiKey: env.OPENAI_API_KEY ?? "no-key",
    });
  }
  if (env.HF_TOKEN) {
    return new OpenAIServerModel({
      ...exampleModelTimeLimits(env),
      modelId: env.SMOLSTEP_MODEL ?? "Qwen/Qwen2.5-Coder-32B-Instruct",
      apiBase: HF_ROUTER_URL,
      apiKey: env.HF_TOKEN,
    });
  }
  return {
    modelId: "unconfigured",
    generate() {
      return Promise.reject(
        new ConfigurationError(
          "No model is configured: set OPENAI_API_KEY (and optionally OPENAI_BASE_URL, SMOLSTEP_MODEL) or HF_TOKEN.",
        ),
      );
    },
  };
}

/**
 * The example agents served by `functions/deno.ts` and `functions/worker.ts`, by route name. `egress` is the policy
 * the researcher's web tools fetch under (default: from SMOLSTEP_EGRESS_*; the Deno entry adds its DNS check).
 */
export function createAgents(
  env: AgentEnv,
  options: { executor?: CodeExecutor; egress?: EgressPolicy } = {},
): Record<string, MultiStepAgent> {
  const model = createExampleModel(env);
  const tools = [calculatorTool, currentTimeTool, textStatsTool, reverseWordsTool];
  const agents: Record<string, MultiStepAgent> = {
    assistant: new ToolCallingAgent({
      name: "assistant",
      description: "A general assistant that calculates, tells the time and measures or rearranges text.",
      model,
      tools,
      maxSteps: 10,
    }),
    researcher: researcher(env, model, options.egress ?? egressFromEnv(env)),
  };
  if (options.executor) {
    agents.coder = new CodeAgent({
      name: "coder",
      description: "Solves tasks by writing JavaScript that calls the same tools, in a QuickJS sandbox.",
      model,
      tools,
      executor: options.executor,
      authorizedImports: ["math"],
      maxSteps: 10,
    });
  }
  return agents;
}

/** Searches the web and reads pages (SMOLSTEP_SEARCH_PROVIDER and friends choose the search; see server_options.ts). */
function researcher(env: AgentEnv, model: Model, egress: EgressPolicy): MultiStepAgent {
  return new ToolCallingAgent({
    name: "researcher",
    description: "Researches a question on the web: searches, reads the pages it finds and answers with its sources.",
    model,
    tools: [new WebSearchTool({ ...webSearchFromEnv(env), egress }), new VisitWebpageTool({ egress })],
    instructions: "Search first, then visit the most relevant pages before answering. Cite the URLs you used.",
    maxSteps: 10,
  });
}
