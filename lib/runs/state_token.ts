import { type AgentState, parseAgentState } from "../memory/agent_state.ts";
import { concatBytes } from "../bytes.ts";
import { decodeBase64Url, encodeBase64Url } from "../base64.ts";
import { SmolstepError } from "../errors.ts";
import { DEFAULT_STATE_TTL_SECONDS } from "./run_lifecycle.ts";
import { type TokenCipher, type TokenCipherFactory, webCryptoTokenCipher } from "./token_cipher.ts";

/**
 * Stateless runs: the client carries the run state as a token the server sealed.
 *
 * The payload is the JSON `{agent, id, iat, exp, state}` (and `blobsUntil` where the server keeps the run's blobs,
 * see lib/http/stateless_steps.ts), gzipped when it is {@link COMPRESS_FROM_BYTES} or longer. A reader tells the two
 * apart by the first byte: `{` (0x7b) is the JSON itself, anything else is gunzipped (gzip starts with 0x1f 0x8b),
 * so tokens sealed when every payload was gzipped still open. Small payloads are left as they are because starting
 * a compression stream costs far more than a few KB of token: under load it was a third of a stateless step's CPU.
 * Two formats, told apart by their prefix; every key is derived from the secret with HKDF-SHA256 (empty salt, one
 * `info` per purpose), so one secret serves all of them safely:
 *
 * - `st2.<sealed>` (encrypted tokens, the default): `sealed` is base64url of a random 12-byte IV followed by the
 *   AES-256-GCM ciphertext and its 16-byte tag, with the prefix `st2` as additional authenticated data, under the key
 *   of info "smolstep state aead v2". The tag authenticates the token: nothing is parsed before it verified.
 * - `st1.<payload>.<mac>` (tokens of `encrypt: false`, which are signed only, and every token sealed before format
 *   2): the payload, AES-GCM encrypted (random IV in front, no additional data, key "smolstep state enc v1") unless
 *   `encrypt` is false, and an HMAC-SHA256 over `st1.<payload>` (key "smolstep state mac v1"), verified with
 *   `crypto.subtle.verify` (constant time) before anything is decrypted or parsed.
 *
 * Changelog. Format 1 (`st1`): every token. Format 2 (`st2`, Dec 2026): encrypted tokens are sealed with AES-GCM
 * alone, the authenticated encryption standing for the separate MAC: one WebCrypto operation per seal and per open
 * instead of two (the two HMAC operations were about 12% of the server's busy CPU per stateless step under load, see
 * bench/load.ts). `st1` tokens still open, encrypted ones with a codec that encrypts, signed-only ones with one that
 * does not (as before); `st2` tokens open with either. Random 96-bit IVs under one key bound a secret to about 2^32
 * sealed tokens (NIST SP 800-38D), as in format 1; a repeated IV, which format 1's MAC kept to a loss of secrecy of
 * the two tokens, would in format 2 also weaken their authentication, so rotate the secret well before that.
 *
 * `id` is random per token (128 bits): where the server has a store, it remembers the ids of tokens already
 * stepped (`TokenLedger`), so a replayed token runs nothing. The token itself cannot know it was used.
 */

/** Format 1: signed (HMAC), encrypted inside unless `encrypt` is false. */
const SIGNED = "st1";
/** Format 2: AES-GCM alone, the prefix as additional data. */
const SEALED = "st2";
const SEALED_AAD = new TextEncoder().encode(SEALED);
const NO_AAD = new Uint8Array(0);

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
  /** The AES-256-GCM of format 2 (default WebCrypto; see lib/runs/token_cipher.ts). */
  cipher?: TokenCipherFactory;
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

/** The keys of one secret: `aead` for format 2, `mac` and `enc` for format 1. */
interface TokenKeys {
  aead: TokenCipher;
  mac: CryptoKey;
  enc: TokenCipher;
}

/** The shortest secret tokens are sealed with. */
export const MIN_SECRET_LENGTH = 16;

async function deriveKeys(secret: string, cipher: TokenCipherFactory): Promise<TokenKeys> {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The state secret must be at least ${MIN_SECRET_LENGTH} characters long.`);
  }
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey", "deriveBits"]);
  const hkdf = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: new Uint8Array(0),
    info: encoder.encode(info),
  });
  // AES keys as the 256 bits `deriveKey` would make an AES-256 key of: the cipher keeps them.
  const bits = (info: string) => crypto.subtle.deriveBits(hkdf(info), base, 256);
  const [aead, mac, enc] = await Promise.all([
    bits("smolstep state aead v2"),
    crypto.subtle.deriveKey(
      hkdf("smolstep state mac v1"),
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign", "verify"],
    ),
    bits("smolstep state enc v1"),
  ]);
  return { aead: cipher(new Uint8Array(aead)), mac, enc: cipher(new Uint8Array(enc)) };
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
  readonly #keys: Promise<TokenKeys>;
  readonly #encrypt: boolean;
  readonly #ttlSeconds: number;

  constructor(secret: string, options: StateTokenOptions = {}) {
    this.#keys = deriveKeys(secret, options.cipher ?? webCryptoTokenCipher);
    this.#keys.catch(() => {}); // surfaced on first use
    this.#encrypt = options.encrypt ?? true;
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_STATE_TTL_SECONDS;
  }

  /** Lifetime of a token in seconds. */
  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  /**
   * Seals `state` for `agent`; `blobsUntil` (epoch ms) says how long the blobs it refers to are kept. Encrypted
   * tokens are format 2 (`st2`), signed-only ones format 1 (`st1`); see the module comment.
   */
  async seal(agent: string, state: AgentState, options: { blobsUntil?: number } = {}): Promise<string> {
    const keys = await this.#keys;
    const iat = Math.floor(Date.now() / 1000);
    const id = encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    const json = JSON.stringify({ agent, id, iat, exp: iat + this.#ttlSeconds, blobsUntil: options.blobsUntil, state });
    const plain = encoder.encode(json);
    const payload = plain.length < COMPRESS_FROM_BYTES ? plain : await transform(plain, new CompressionStream("gzip"));
    if (this.#encrypt) return `${SEALED}.${encodeBase64Url(await keys.aead.seal(payload, SEALED_AAD))}`;
    const signed = `${SIGNED}.${encodeBase64Url(payload)}`;
    const signature = new Uint8Array(await crypto.subtle.sign("HMAC", keys.mac, encoder.encode(signed)));
    return `${signed}.${encodeBase64Url(signature)}`;
  }

  /** Verifies, decrypts and parses a token made for `agent`; throws `StateTokenError` otherwise. */
  async open(token: string, agent: string): Promise<AgentState> {
    return (await this.read(token, agent)).state;
  }

  /** Like `open`, with the token's id and expiry (for replay detection). */
  async read(token: string, agent: string): Promise<OpenedStateToken> {
    const opened = await this.#authenticate(token);
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

  /** The payload of a token this secret sealed (gzipped or not), in either format; throws `invalid_token` else. */
  async #authenticate(token: string): Promise<Uint8Array<ArrayBuffer>> {
    const keys = await this.#keys;
    const parts = typeof token === "string" ? token.split(".") : [];
    if (parts.length === 2 && parts[0] === SEALED) {
      const sealed = decodeBase64Url(parts[1]);
      if (!sealed) throw invalid("malformed encoding");
      const opened = await keys.aead.open(sealed, SEALED_AAD);
      if (!opened) throw invalid("cannot decrypt (modified, truncated, or sealed with another secret)");
      return opened;
    }
    if (parts.length !== 3 || parts[0] !== SIGNED) throw invalid("not a smolstep state token");
    const payload = decodeBase64Url(parts[1]);
    const signature = decodeBase64Url(parts[2]);
    if (!payload || !signature) throw invalid("malformed encoding");
    const valid = await crypto.subtle.verify("HMAC", keys.mac, signature, encoder.encode(`${parts[0]}.${parts[1]}`));
    if (!valid) throw invalid("signature mismatch (modified, truncated, or signed with another secret)");
    if (!this.#encrypt) return payload;
    // Format 1 had no additional data, which AES-GCM treats as empty additional data.
    const opened = await keys.enc.open(payload, NO_AAD);
    if (!opened) throw invalid("cannot decrypt");
    return opened;
  }
}

function invalid(why: string): StateTokenError {
  return new StateTokenError("invalid_token", `Invalid state token: ${why}.`);
}
