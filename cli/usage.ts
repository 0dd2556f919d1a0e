/** `--help`'s text. */
import { EXIT_CODES } from "./exit_codes.ts";
import { AGENT_TYPES, DEFAULT_TOOLS, MODEL_TYPES } from "./arguments.ts";

export function usageText(toolNames: readonly string[], agentNames: readonly string[]): string {
  return `smolstep: run an agent from the command line, here or on a deployed smolstep.

Usage:
  smolstep run ["<task>"] [options]    run an agent until it answers (\`run\` may be left out; without a task,
                                       smolagents' default: the leopard crossing Pont des Arts)
  smolstep serve [--port N] [--hostname H]
                                       start the HTTP server (as \`deno task start\`)
  smolstep maintenance sweep --kv-path <file or URL> [--apply] [--limit N] [--max-pages N] [--cursor C]
                                       give keys older servers left with no expiry (blobs/, runs/, tokens/,
                                       hooks/) the expiry the server gives them, counted from now; a dry run
                                       with counts per kind unless --apply (sweep-blobs: the old name)
  smolstep --help | --version

Agent (local runs):
  --agent <name>             an example agent: ${agentNames.join(", ")}
  --tools <names...>         build an agent with these tools (default: ${DEFAULT_TOOLS.join(" ")}); known:
                             ${toolNames.join(", ")}
  --agent-type <type>        ${AGENT_TYPES.join(" | ")} (default code; --action-type tool_calling works too)
  --imports <modules...>     modules the code agent may import
  --max-steps <n>            action steps before the run gives up
  --planning-interval <n>    write a plan every n steps
  --confirm-tools <names...> ask at the prompt before each call of these tools (\`all\`: every tool)

Model (local runs):
  --model-type <class>       ${MODEL_TYPES.join(" | ")}
                             (default ${MODEL_TYPES[0]})
  --model-id <id>            default Qwen/Qwen2.5-Coder-32B-Instruct
  --api-base <url>           the server's base URL (Azure: the endpoint; HF: an endpoint URL)
  --api-key <key>            else OPENAI_API_KEY, HF_TOKEN, AZURE_OPENAI_API_KEY or the LiteLLM provider's variable
  --provider <name>          Inference Provider for InferenceClientModel (default auto)

Remote runs:
  --remote <url>             drive a deployed smolstep over HTTP (--agent: one of its agents; default its first)
  --api-key <key>            its bearer key (else SMOLSTEP_API_KEY)

Output:
  --json                     one JSON event per line on stdout (prompts go to stderr)
  NO_COLOR=1                 no colours; none either when stdout is not a terminal

Exit codes:
  ${EXIT_CODES.succeeded} succeeded, ${EXIT_CODES.failed} failed, ${EXIT_CODES.usage} bad arguments, ${EXIT_CODES.maxSteps} max steps reached, \
${EXIT_CODES.cancelled} cancelled, ${EXIT_CODES.expired} expired (remote), ${EXIT_CODES.interrupted} interrupted (Ctrl-C)
`;
}
