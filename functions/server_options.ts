/** Server settings shared by both entries, read from the environment. */
export interface ServerEnv {
  /** Signs and encrypts stateless run tokens (>= 16 characters). */
  SMOLSTEP_SECRET?: string;
  /** Comma-separated API keys; when set, `/v1` requires `Authorization: Bearer <key>`. */
  SMOLSTEP_API_KEYS?: string;
  /** Comma-separated allowed origins for browsers, or `*`. */
  SMOLSTEP_CORS_ORIGINS?: string;
}

export function serverOptions(env: ServerEnv) {
  const apiKeys = env.SMOLSTEP_API_KEYS?.split(",").map((key) => key.trim()).filter(Boolean);
  const origins = env.SMOLSTEP_CORS_ORIGINS?.split(",").map((origin) => origin.trim()).filter(Boolean);
  return {
    secret: env.SMOLSTEP_SECRET,
    apiKeys: apiKeys?.length ? apiKeys : undefined,
    cors: origins?.length ? { origin: origins.includes("*") ? "*" : origins } : undefined,
  };
}
