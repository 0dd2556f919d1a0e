/**
 * Idempotency keys of MCP `tools/call`s of agents. A host that gives up on a call (the SDK's request timeout, a cut
 * stream it cannot resume) and calls the tool again sends a new request that nothing ties to the first; with a key,
 * the same call sent again answers from the run the first one started (following it to its end, or its final
 * answer at once if it has ended) and never starts a second run (lib/http/request_replay.ts).
 *
 * The key is `params._meta["smolstep/idempotencyKey"]` (MCP's `_meta` naming: a prefix, then a name; the server's
 * other keys are `smolstep/` too), else the POST's `Idempotency-Key` header, for HTTP clients that set headers
 * rather than `_meta` (not for a batch of several agent calls, which one header cannot tell apart: each is then
 * refused): 1 to 200 characters, otherwise the call is refused (JSON-RPC `-32602`). It names the call for a day, and
 * only for the credentials it was sent with (the caller's `Authorization` header is part of it): another caller's
 * same key is another call. The same key with another tool or other arguments (compared as JSON, keys in
 * any order) is refused with an `isError` result, and runs nothing. Only with a store (without one there is no run
 * to name, and the key is not used); the agents' own tools (`exposeTools`) run no run and take no key.
 */
import { canonicalJson, type RequestReplay } from "../../http/request_replay.ts";

/** The `_meta` key of a `tools/call` that names it for its retries. */
export const IDEMPOTENCY_KEY_META = "smolstep/idempotencyKey";
/** As the `Idempotency-Key` of `/v1` (lib/http/request_body.ts). */
const MAX_KEY_CHARS = 200;

/** What a POST gives its calls besides their own `_meta`: its headers. */
export interface CallKeySource {
  /** The POST's `Idempotency-Key` header. */
  header?: string;
  /** The POST's `Authorization` header: a key names a call of these credentials only. */
  authorization?: string;
  /** The POST is a batch of several agent calls: its one header cannot name each of them. */
  batched?: boolean;
}

/**
 * What names the agent call `name(args)` for its retries: undefined without a key, a sentence saying what is wrong
 * with a malformed one.
 */
export function callReplay(
  name: string,
  args: Record<string, unknown>,
  meta: unknown,
  source: CallKeySource,
): RequestReplay | string | undefined {
  const own = meta && typeof meta === "object" ? (meta as Record<string, unknown>)[IDEMPOTENCY_KEY_META] : undefined;
  const key = own ?? source.header;
  if (key === undefined) return undefined;
  if (own === undefined && source.batched) {
    return `The Idempotency-Key header names one call, and this batch holds several: name each call with its own ` +
      `params._meta["${IDEMPOTENCY_KEY_META}"].`;
  }
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_CHARS) {
    return own === undefined
      ? `The Idempotency-Key header must be 1 to ${MAX_KEY_CHARS} characters.`
      : `params._meta["${IDEMPOTENCY_KEY_META}"] must be a string of 1 to ${MAX_KEY_CHARS} characters.`;
  }
  return {
    key: JSON.stringify(["mcp tools/call", source.authorization ?? "", key]),
    request: canonicalJson([name, args]),
  };
}
