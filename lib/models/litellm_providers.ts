/**
 * Where `LiteLLMModel` sends a "provider/model" id: each provider's OpenAI-compatible base URL and the variables
 * its key is read from (LiteLLM's names first). Sources: each provider's OpenAI-compatibility documentation.
 * Keep README's provider table in step with this one.
 */

export interface LiteLLMProvider {
  /** OpenAI-compatible base URL; undefined when the caller must give `apiBase`. */
  baseUrl?: string;
  /** Variables holding the API key, in order of preference. Empty for keyless local servers. */
  apiKeyEnv: readonly string[];
  /** smolagents flattens messages to text by default for these (ollama, groq, cerebras). */
  flattenMessagesAsText?: boolean;
  /** A server the user runs: `apiBase` is its URL (the prefix is still stripped), not a LiteLLM proxy. */
  selfHosted?: boolean;
}

const provider = (p: LiteLLMProvider): Readonly<LiteLLMProvider> => Object.freeze(p);

const openai = provider({ baseUrl: "https://api.openai.com/v1", apiKeyEnv: ["OPENAI_API_KEY"] });
const together = provider({
  baseUrl: "https://api.together.ai/v1",
  apiKeyEnv: ["TOGETHERAI_API_KEY", "TOGETHER_API_KEY"],
});
const fireworks = provider({
  baseUrl: "https://api.fireworks.ai/inference/v1",
  apiKeyEnv: ["FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"],
});
const ollama = provider({
  baseUrl: "http://localhost:11434/v1",
  apiKeyEnv: [],
  flattenMessagesAsText: true,
  selfHosted: true,
});

/** Provider prefix -> route. Aliases share an entry (`together_ai` / `together`, `ollama` / `ollama_chat`). */
export const LITELLM_PROVIDERS: Readonly<Record<string, Readonly<LiteLLMProvider>>> = Object.freeze({
  openai,
  anthropic: provider({ baseUrl: "https://api.anthropic.com/v1", apiKeyEnv: ["ANTHROPIC_API_KEY"] }),
  groq: provider({
    baseUrl: "https://api.groq.com/openai/v1",
    apiKeyEnv: ["GROQ_API_KEY"],
    flattenMessagesAsText: true,
  }),
  mistral: provider({ baseUrl: "https://api.mistral.ai/v1", apiKeyEnv: ["MISTRAL_API_KEY"] }),
  together_ai: together,
  together,
  fireworks_ai: fireworks,
  fireworks,
  deepseek: provider({ baseUrl: "https://api.deepseek.com", apiKeyEnv: ["DEEPSEEK_API_KEY"] }),
  openrouter: provider({ baseUrl: "https://openrouter.ai/api/v1", apiKeyEnv: ["OPENROUTER_API_KEY"] }),
  cerebras: provider({
    baseUrl: "https://api.cerebras.ai/v1",
    apiKeyEnv: ["CEREBRAS_API_KEY"],
    flattenMessagesAsText: true,
  }),
  xai: provider({ baseUrl: "https://api.x.ai/v1", apiKeyEnv: ["XAI_API_KEY"] }),
  gemini: provider({
    baseUrl: "https://generativelanguage.googleapis.com/v1beta/openai",
    apiKeyEnv: ["GEMINI_API_KEY"],
  }),
  huggingface: provider({
    baseUrl: "https://router.huggingface.co/v1",
    apiKeyEnv: ["HF_TOKEN", "HUGGINGFACE_API_KEY"],
  }),
  ollama,
  ollama_chat: ollama,
  lm_studio: provider({ baseUrl: "http://localhost:1234/v1", apiKeyEnv: [], selfHosted: true }),
  hosted_vllm: provider({ apiKeyEnv: ["HOSTED_VLLM_API_KEY"], selfHosted: true }),
  litellm_proxy: provider({ apiKeyEnv: ["LITELLM_PROXY_API_KEY"], selfHosted: true }),
});

/** Provider LiteLLM infers for ids without a prefix (e.g. "gpt-4o" -> openai). */
export const LITELLM_UNPREFIXED: ReadonlyArray<readonly [RegExp, string]> = Object.freeze(
  [
    [/^(gpt-|chatgpt-|o\d)/, "openai"],
    [/^claude-/, "anthropic"],
    [/^gemini-/, "gemini"],
    [/^grok-/, "xai"],
    [/^(mistral-|codestral-|open-mistral)/, "mistral"],
    [/^deepseek-/, "deepseek"],
  ] as const,
);
