import { type AgentState, parseAgentState } from "../memory/agent_state.ts";
import { concatBytes } from "../bytes.ts";
import { decodeBase64Url, encodeBase64Url } from "../base64.ts";
import { SmolstepError } from "../errors.ts";
import { DEFAULT_STATE_TTL_SECONDS } from "./run_lifecycle.ts";

/**
 * Stateless runs: the client carries the run state as a token the server sealed.
 *
 * Format: `st1.<payload>.<mac>`, both base64url. The payload is the JSON `{agent, id, iat, exp, state}` (and
 * `blobsUntil` where the server keeps the run's blobs, see lib/http/stateless_steps.ts), gzipped when it is
 * {@link COMPRESS_FROM_BYTES} or longer, encrypted with AES-GCM (random 12-byte IV in front) unless `encrypt` is
 * false. A reader tells the two apart by the first byte: `{` (0x7b) is the JSON itself, anything else is gunzipped
 * (gzip starts with 0x1f 0x8b), so tokens sealed when every payload was gzipped still open. Small payloads are left
 * as they are because starting a compression stream costs far more than a few KB of token: under load it was a
 * third of a stateless step's CPU. The MAC is HMAC-SHA256 over
 * `st1.<payload>`, verified with `crypto.subtle.verify` (constant time) before anything is decrypted or parsed.
 * Both keys are derived from the secret with HKDF, so one secret serves both purposes safely.
 *
 * `id` is random per token (128 bits): where the server has a store, it remembers the ids of tokens already
 * stepped (`TokenLedger`), so a replayed token runs nothing. The token itself cannot know it was used.
 */

const PREFIX = "st1";

export type StateTokenErrorCode = "invalid_token" | "token_expired" | "token_agent_mismatch" | "token_replayed";

export class StateTokenError extends SmolstepError {
  override name = "StateTokenError";
  declare readonly code: StateTokenErrorCode;
  constructor(code: StateTokenErrorCode, message: string) {
    super(message, { code });
  }
}

export interface StateTokenOptions {
  /** Encrypt the state so clients cannot read it (default true). Tokens are always signed. */
  encrypt?: boolean;
  /** Lifetime of a token in seconds (default 7 days). */
  ttlSeconds?: number;
}

/** What an opened token carries besides the state. */
export interface OpenedStateToken {
  state: AgentState;
  /** Unique per sealed token; absent in tokens sealed before ids existed. */
  id?: string;
  /** Epoch seconds after which the token is refused. */
  exp: number;
  /**
   * Epoch ms until which every blob the state refers to is kept in the server's store; absent in tokens of servers
   * without a store or older than this field.
   */
  blobsUntil?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Payloads (UTF-8 JSON) at least this long are gzipped; shorter ones are sealed as they are. */
export const COMPRESS_FROM_BYTES = 8 * 1024;
/** The first byte of a payload that is the JSON itself: `{`. A gzip stream starts with 0x1f. */
const JSON_START = 0x7b;

async function deriveKeys(secret: string): Promise<{ mac: CryptoKey; enc: CryptoKey }> {
  if (secret.length < 16) throw new Error("The state secret must be at least 16 characters long.");
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  const hkdf = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: new Uint8Array(0),
    info: encoder.encode(info),
  });
  const [mac, enc] = await Promise.all([
    crypto.subtle.deriveKey(
      hkdf("smolstep state mac v1"),
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      [
        "sign",
        "verify",
      ],
    ),
    crypto.subtle.deriveKey(hkdf("smolstep state enc v1"), base, { name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]),
  ]);
  return { mac, enc };
}

/**
 * Runs bytes through a (de)compression stream, writing and reading its two ends directly: about four times faster
 * for a token-sized payload than piping a Blob's stream into a Response, which was the largest cost of a stateless
 * step under load. A corrupt input rejects the read.
 */
async function transform(bytes: Uint8Array<ArrayBuffer>, stream: CompressionStream | DecompressionStream) {
  const writer = stream.writable.getWriter();
  // Errors surface on the readable side; these promises only must not go unhandled.
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(read.value);
  return concatBytes(...chunks);
}

/** Seals and opens state tokens with one secret. */
export class StateTokenCodec {
  readonly #keys: Promise<{ mac: CryptoKey; enc: CryptoKey }>;
  readonly #encrypt: boolean;
  readonly #ttlSeconds: number;

  constructor(secret: string, options: StateTokenOptions = {}) {
    this.#keys = deriveKeys(secret);
    this.#keys.catch(() => {}); // surfaced on first use
    this.#encrypt = options.encrypt ?? true;
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_STATE_TTL_SECONDS;
  }

  /** Lifetime of a token in seconds. */
  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  /** Seals `state` for `agent`; `blobsUntil` (epoch ms) says how long the blobs it refers to are kept. */
  async seal(agent: string, state: AgentState, options: { blobsUntil?: number } = {}): Promise<string> {
    const { mac, enc } = await this.#keys;
    const iat = Math.floor(Date.now() / 1000);
    const id = encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    const json = JSON.stringify({ agent, id, iat, exp: iat + this.#ttlSeconds, blobsUntil: options.blobsUntil, state });
    const plain = encoder.encode(json);
    let payload = plain.length < COMPRESS_FROM_BYTES ? plain : await transform(plain, new CompressionStream("gzip"));
    if (this.#encrypt) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, enc, payload));
      payload = new Uint8Array(iv.length + sealed.length);
      payload.set(iv);
      payload.set(sealed, iv.length);
    }
    const signed = `${PREFIX}.${encodeBase64Url(payload)}`;
    const signature = new Uint8Array(await crypto.subtle.sign("HMAC", mac, encoder.encode(signed)));
    return `${signed}.${encodeBase64Url(signature)}`;
  }

  /** Verifies, decrypts and parses a token made for `agent`; throws `StateTokenError` otherwise. */
  async open(token: string, agent: string): Promise<AgentState> {
    return (await this.read(token, agent)).state;
  }

  /** Like `open`, with the token's id and expiry (for replay detection). */
  async read(token: string, agent: string): Promise<OpenedStateToken> {
    const { mac, enc } = await this.#keys;
    const invalid = (why: string) => new StateTokenError("invalid_token", `Invalid state token: ${why}.`);
    const parts = typeof token === "string" ? token.split(".") : [];
    if (parts.length !== 3 || parts[0] !== PREFIX) throw invalid("not a smolstep state token");
    const payload = decodeBase64Url(parts[1]);
    const signature = decodeBase64Url(parts[2]);
    if (!payload || !signature) throw invalid("malformed encoding");
    const valid = await crypto.subtle.verify("HMAC", mac, signature, encoder.encode(`${parts[0]}.${parts[1]}`));
    if (!valid) throw invalid("signature mismatch (modified, truncated, or signed with another secret)");
    let opened = payload;
    if (this.#encrypt) {
      if (payload.length < 13) throw invalid("payload too short");
      try {
        opened = new Uint8Array(
          await crypto.subtle.decrypt({ name: "AES-GCM", iv: payload.subarray(0, 12) }, enc, payload.subarray(12)),
        );
      } catch {
        throw invalid("cannot decrypt");
      }
    }
    let body: { agent?: unknown; id?: unknown; exp?: unknown; blobsUntil?: unknown; state?: unknown };
    try {
      const json = opened[0] === JSON_START ? opened : await transform(opened, new DecompressionStream("gzip"));
      body = JSON.parse(decoder.decode(json));
    } catch {
      throw invalid("unreadable payload");
    }
    if (body.agent !== agent) {
      throw new StateTokenError("token_agent_mismatch", `This state token was made for another agent, not '${agent}'.`);
    }
    if (typeof body.exp !== "number" || body.exp * 1000 < Date.now()) {
      throw new StateTokenError("token_expired", "This state token has expired; start a new run.");
    }
    const id = typeof body.id === "string" ? body.id : undefined;
    const blobsUntil = typeof body.blobsUntil === "number" ? body.blobsUntil : undefined;
    return { state: parseAgentState(body.state), id, exp: body.exp, blobsUntil };
  }
}
