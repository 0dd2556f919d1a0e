/**
 * The SSE event ids of a resumable MCP `tools/call` (Streamable HTTP "Resumability and Redelivery"): each id says
 * where the call's stream had got to, so that any instance can take it up from a `GET /mcp` with `Last-Event-ID`,
 * with nothing kept between requests. An id is `m1.<payload>.<mac>` (base64url): the run, the JSON-RPC request id,
 * the progress token, the last progress number written and the next step record to report, under an HMAC-SHA256
 * keyed by what the instances share and no caller knows whole (the app's `secret`, all of its API keys) and by the
 * caller's `Authorization` header: only the credentials a call was made with resume it, and no caller can write an
 * id for another run (with neither a secret nor API keys, anyone can: the server is open, as `/v1/runs/{id}` is).
 */
import { decodeBase64Url, encodeBase64Url } from "../../base64.ts";
import { hmacSha256, verifyHmacSha256 } from "../../crypto/hmac.ts";

/** Where a tool call's stream is. */
export interface CallCursor {
  runId: string;
  /** The `tools/call` request's JSON-RPC id: the resumed stream answers it. */
  requestId: string | number;
  /** The request's `progressToken`, if it gave one. */
  progressToken?: string | number;
  /** The last progress notification written: -1 for none yet (not even progress 0, which names the run). */
  progress: number;
  /** The index of the next step record to report; unset until the run is followed (then: after its task steps). */
  next?: number;
}

const PREFIX = "m1.";
/** Longer `Last-Event-ID` headers are refused unread. */
const MAX_EVENT_ID_CHARS = 2_000;
/** Longer request ids and progress tokens make a call that is not resumable (its ids would be too long). */
export const MAX_NAME_CHARS = 200;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The key of a caller's event ids: the server's secret and API keys, and the credentials the caller presented. */
export function eventIdKey(
  server: { secret?: string; apiKeys?: string[] },
  authorization: string | undefined,
): string {
  return JSON.stringify(["smolstep mcp events", server.secret ?? "", server.apiKeys ?? [], authorization ?? ""]);
}

/** The event id of `cursor` under `key` (see `eventIdKey`). */
export async function signEventId(cursor: CallCursor, key: string): Promise<string> {
  const { runId, requestId, progressToken, progress, next } = cursor;
  const payload = encodeBase64Url(
    encoder.encode(JSON.stringify([runId, requestId, progressToken ?? null, progress, next ?? null])),
  );
  return `${PREFIX}${payload}.${encodeBase64Url(await hmacSha256(key, payload))}`;
}

/** The cursor an event id names, or null when it is not one of ours or was not signed with `key`. */
export async function readEventId(eventId: string, key: string): Promise<CallCursor | null> {
  if (eventId.length > MAX_EVENT_ID_CHARS || !eventId.startsWith(PREFIX)) return null;
  const [payload, mac, ...rest] = eventId.slice(PREFIX.length).split(".");
  const macBytes = mac === undefined || rest.length ? null : decodeBase64Url(mac);
  if (!payload || !macBytes || !(await verifyHmacSha256(key, macBytes, payload))) return null;
  const bytes = decodeBase64Url(payload);
  let fields: unknown;
  try {
    fields = bytes ? JSON.parse(decoder.decode(bytes)) : null;
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 5) return null;
  const [runId, requestId, progressToken, progress, next] = fields;
  const isName = (value: unknown) => typeof value === "string" || typeof value === "number";
  if (typeof runId !== "string" || !isName(requestId) || !(progressToken === null || isName(progressToken))) {
    return null;
  }
  if (!Number.isInteger(progress) || progress < -1 || !(next === null || (Number.isInteger(next) && next >= 0))) {
    return null;
  }
  return {
    runId,
    requestId,
    progress,
    ...(progressToken === null ? {} : { progressToken }),
    ...(next === null ? {} : { next }),
  };
}
