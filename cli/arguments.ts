/**
 * The command line's grammar, as smolagents' `smolagent` command has it (`--model-type`, `--model-id`, `--tools`,
 * `--imports`, `--api-base`, `--api-key`, `--provider`), plus smolstep's own options. Pure: argv in, a command out;
 * anything it cannot read is an `InvalidInputError` (the entry prints it and exits with code 2).
 */
import { InvalidInputError } from "../lib/errors.ts";
import { type MaintenanceArguments, maintenanceArguments } from "./maintenance_arguments.ts";

/** The model classes `--model-type` names; the first is the default, as in smolagents. */
export const MODEL_TYPES = [
  "InferenceClientModel",
  "OpenAIServerModel",
  "LiteLLMModel",
  "AzureOpenAIServerModel",
  "TransformersModel",
] as const;
export type ModelType = typeof MODEL_TYPES[number];

export const AGENT_TYPES = ["code", "tool-calling"] as const;
export type AgentType = typeof AGENT_TYPES[number];

/** The task of a run given none: smolagents' `leopard_prompt`, which its command runs when no prompt is given. */
export const DEFAULT_TASK = "How many seconds would it take for a leopard at full speed to run through Pont des Arts?";

/** smolagents' default tool list for its command. */
export const DEFAULT_TOOLS = ["web_search"];

export interface RunArguments {
  command: "run";
  task: string;
  /** An example agent by name (`functions/agents.ts`, or the server's with `--remote`). */
  agent?: string;
  /** Tool names for an agent built here (default `DEFAULT_TOOLS` when neither `agent` nor `tools` is given). */
  tools?: string[];
  agentType: AgentType;
  modelType: ModelType;
  modelId?: string;
  apiBase?: string;
  apiKey?: string;
  provider?: string;
  maxSteps?: number;
  planningInterval?: number;
  /** Modules the code agent may import. */
  imports?: string[];
  /** Tools that ask at the prompt before each call (`all`: every tool). */
  confirmTools: string[];
  /** One JSON object per line instead of the live display. */
  json: boolean;
  /** A deployed smolstep to drive over HTTP instead of running here. */
  remote?: string;
}

export interface ServeArguments {
  command: "serve";
  port?: number;
  hostname?: string;
}

export type CliCommand =
  | RunArguments
  | ServeArguments
  | MaintenanceArguments
  | { command: "help" }
  | { command: "version" };

type Kind = "string" | "count" | "list" | "flag";
/** Every option: its kind, and the command it belongs to. */
const OPTIONS: Record<string, { kind: Kind; key: string; command: "run" | "serve" }> = {
  "--agent": { kind: "string", key: "agent", command: "run" },
  "--tools": { kind: "list", key: "tools", command: "run" },
  "--agent-type": { kind: "string", key: "agentType", command: "run" },
  "--action-type": { kind: "string", key: "agentType", command: "run" },
  "--model-type": { kind: "string", key: "modelType", command: "run" },
  "--model-id": { kind: "string", key: "modelId", command: "run" },
  "--api-base": { kind: "string", key: "apiBase", command: "run" },
  "--base-url": { kind: "string", key: "apiBase", command: "run" },
  "--api-key": { kind: "string", key: "apiKey", command: "run" },
  "--provider": { kind: "string", key: "provider", command: "run" },
  "--max-steps": { kind: "count", key: "maxSteps", command: "run" },
  "--planning-interval": { kind: "count", key: "planningInterval", command: "run" },
  "--imports": { kind: "list", key: "imports", command: "run" },
  "--confirm-tools": { kind: "list", key: "confirmTools", command: "run" },
  "--json": { kind: "flag", key: "json", command: "run" },
  "--remote": { kind: "string", key: "remote", command: "run" },
  "--port": { kind: "count", key: "port", command: "serve" },
  "--hostname": { kind: "string", key: "hostname", command: "serve" },
};

/** What only an agent built here uses: refused with `--remote` (the server's agent decides). */
const LOCAL_ONLY = ["tools", "agentType", "modelType", "modelId", "apiBase", "provider", "planningInterval", "imports"];
/** A word a list option takes (`--tools web_search visit_webpage`): a name, never a sentence or an option. */
const LIST_WORD = /^[A-Za-z0-9_.@\/:][A-Za-z0-9_.,@\/:-]*$/;

/** Reads argv (without the program name); `env` only for what an option may default to (SMOLSTEP_KV_PATH). */
export function parseArguments(argv: readonly string[], env: Record<string, string | undefined> = {}): CliCommand {
  if (argv.some((arg) => arg === "--help" || arg === "-h") || argv[0] === "help") return { command: "help" };
  if (argv.some((arg) => arg === "--version" || arg === "-V")) return { command: "version" };
  if (argv[0] === "maintenance") return maintenanceArguments(argv.slice(1), env);
  const command = argv[0] === "serve" ? "serve" : "run";
  const words = argv[0] === "run" || argv[0] === "serve" ? argv.slice(1) : argv;
  const values: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === "--") {
      positional.push(...words.slice(i + 1));
      break;
    }
    if (!word.startsWith("--")) {
      positional.push(word);
      continue;
    }
    const [name, inline] = word.includes("=")
      ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]
      : [
        word,
        undefined,
      ];
    const option = OPTIONS[name];
    if (!option) throw new InvalidInputError(`Unknown option ${name}. See --help.`);
    if (option.command !== command) throw new InvalidInputError(`${name} is an option of \`${option.command}\`.`);
    if (option.kind === "flag") {
      if (inline !== undefined) throw new InvalidInputError(`${name} takes no value.`);
      values[option.key] = true;
      continue;
    }
    if (option.kind === "list") {
      const taken = inline !== undefined ? [inline] : [];
      while (inline === undefined && i + 1 < words.length && LIST_WORD.test(words[i + 1])) taken.push(words[++i]);
      const list = taken.flatMap((item) => item.split(",")).map((item) => item.trim()).filter(Boolean);
      values[option.key] = [...(values[option.key] as string[] ?? []), ...list];
      continue;
    }
    const value = inline ?? words[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw new InvalidInputError(`${name} needs a value.`);
    }
    values[option.key] = option.kind === "count" ? count(name, value) : value;
  }
  return command === "serve" ? serveArguments(values, positional) : runArguments(values, positional);
}

function count(name: string, value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidInputError(`${name} must be a whole number of at least 1 (got '${value.slice(0, 40)}').`);
  }
  return parsed;
}

function serveArguments(values: Record<string, unknown>, positional: string[]): ServeArguments {
  if (positional.length) throw new InvalidInputError(`\`serve\` takes no task (got '${positional[0].slice(0, 40)}').`);
  if (values.port !== undefined && (values.port as number) > 65535) {
    throw new InvalidInputError("--port must be at most 65535.");
  }
  return { command: "serve", port: values.port as number | undefined, hostname: values.hostname as string | undefined };
}

function runArguments(values: Record<string, unknown>, positional: string[]): RunArguments {
  if (positional.length > 1) {
    throw new InvalidInputError(
      `One task, quoted: got ${positional.length} words ('${positional[1].slice(0, 40)}'...). Quote the task.`,
    );
  }
  const agentType = normalizedAgentType(values.agentType as string | undefined);
  const modelType = (values.modelType as string | undefined) ?? MODEL_TYPES[0];
  if (!(MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new InvalidInputError(`--model-type must be one of ${MODEL_TYPES.join(", ")} (got '${modelType}').`);
  }
  if (values.agent !== undefined && values.tools !== undefined) {
    throw new InvalidInputError("--agent and --tools exclude each other: an example agent has its own tools.");
  }
  if (values.agent !== undefined && values.agentType !== undefined) {
    throw new InvalidInputError("--agent-type applies to an agent built from --tools, not to an example agent.");
  }
  if (values.remote !== undefined) {
    const local = LOCAL_ONLY.find((key) => values[key] !== undefined) ??
      ((values.confirmTools as string[] | undefined)?.length ? "confirmTools" : undefined);
    if (local) throw new InvalidInputError(`--${kebab(local)} applies to a local run, not to --remote.`);
    if (!/^https?:\/\/[^\s]+$/i.test(values.remote as string)) {
      throw new InvalidInputError(`--remote must be an http(s) URL (got '${(values.remote as string).slice(0, 60)}').`);
    }
  }
  return {
    command: "run",
    task: positional[0] ?? DEFAULT_TASK,
    agent: values.agent as string | undefined,
    tools: values.tools as string[] | undefined,
    agentType,
    modelType: modelType as ModelType,
    modelId: values.modelId as string | undefined,
    apiBase: values.apiBase as string | undefined,
    apiKey: values.apiKey as string | undefined,
    provider: values.provider as string | undefined,
    maxSteps: values.maxSteps as number | undefined,
    planningInterval: values.planningInterval as number | undefined,
    imports: values.imports as string[] | undefined,
    confirmTools: values.confirmTools as string[] | undefined ?? [],
    json: values.json === true,
    remote: values.remote as string | undefined,
  };
}

/** `code`, `tool-calling`, or smolagents' `tool_calling`. */
function normalizedAgentType(value: string | undefined): AgentType {
  const type = (value ?? "code").replace("_", "-");
  if (!(AGENT_TYPES as readonly string[]).includes(type)) {
    throw new InvalidInputError(`--agent-type must be one of ${AGENT_TYPES.join(", ")} (got '${value}').`);
  }
  return type as AgentType;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
