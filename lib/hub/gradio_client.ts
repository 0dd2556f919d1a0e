/**
 * Gradio's documented HTTP API, over `fetch` through the egress guard. The `@gradio/client` package is not used: it
 * resolves Space ids at a hard-coded https://huggingface.co with the global `fetch`, so neither the egress rules nor a
 * test Hub URL would apply to it.
 *
 * - API info: `GET {root}/gradio_api/info` (Gradio 5; Gradio 4 serves `{root}/info` and the rest without the prefix).
 * - Call: `POST {root}/gradio_api/call/{api_name}` with `{"data": [...]}` answers `{"event_id"}`; then
 *   `GET {root}/gradio_api/call/{api_name}/{event_id}` streams server-sent events: `generating` (partial output),
 *   `complete` (the output list), `error` (a message or null), `heartbeat` (keep-alive).
 * - Upload: `POST {root}/gradio_api/upload`, multipart `files`, answers the server paths of the files.
 * - Files in outputs are `FileData` objects (`{path, url, mime_type, orig_name, meta: {_type: "gradio.FileData"}}`);
 *   in inputs `{path, meta: {_type: "gradio.FileData"}}` with an uploaded path or a public URL.
 */

import { SmolstepError } from "../errors.ts";
import { type EgressPolicy, guardedFetch } from "../net/egress.ts";
import { BodyTooLargeError, readBodyCapped, readStart } from "../net/read_body.ts";
import { readSse } from "../net/sse.ts";
import { MAX_BLOB_BYTES } from "../stores/blob_ref.ts";
import { clipText } from "../text_clip.ts";

/** One parameter or return value of an endpoint, as `/info` describes it. */
export interface GradioApiValue {
  label?: string | null;
  parameter_name?: string | null;
  parameter_has_default?: boolean;
  parameter_default?: unknown;
  type?: Record<string, unknown> & { type?: string; description?: string };
  python_type?: { type?: string; description?: string };
  component?: string;
  example_input?: unknown;
}

export interface GradioEndpointInfo {
  parameters: GradioApiValue[];
  returns: GradioApiValue[];
  show_api?: boolean;
  description?: string;
}

/** The answer of `/info`. */
export interface GradioApiInfo {
  named_endpoints: Record<string, GradioEndpointInfo>;
  unnamed_endpoints?: Record<string, GradioEndpointInfo>;
}

/** A file in a Gradio value. */
export interface GradioFileData {
  path: string;
  url?: string | null;
  size?: number | null;
  orig_name?: string | null;
  mime_type?: string | null;
  is_stream?: boolean;
  meta: { _type: "gradio.FileData" };
}

/** What the Gradio app said went wrong (an `error` event, a refused call), or a response it should not give. */
export class GradioError extends SmolstepError {
  override name = "GradioError";
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { code: "gradio_error", ...options });
  }
}

export interface GradioConnection {
  /** The app's root URL, without a trailing slash (`https://owner-name.hf.space`). */
  root: string;
  /** `"/gradio_api"` (Gradio 5) or `""` (Gradio 4), found by `fetchApiInfo`. */
  prefix: string;
  /** Sent as `Authorization: Bearer` to the app's own origin only (private Spaces). */
  token?: string;
  /** Which URLs may be fetched (default: public https hosts only). */
  egress?: EgressPolicy;
  /** Largest file read from an output (default: the blob size limit). */
  maxFileBytes?: number;
}

const ECHO = 300;

/**
 * Largest API info, call answer or result stream read from an app (16 MiB in all, heartbeats included): a hostile or
 * broken app cannot make the host buffer an endless answer. Output files have their own cap (`maxFileBytes`).
 */
export const MAX_GRADIO_ANSWER_BYTES = 16 * 1024 * 1024;

function tooLarge(what: string, cause?: unknown): GradioError {
  return new GradioError(`${what} holds more than ${MAX_GRADIO_ANSWER_BYTES} bytes`, { cause });
}

/** A JSON answer read to `MAX_GRADIO_ANSWER_BYTES` at most; undefined when it is no JSON. */
async function readJson(response: Response, what: string): Promise<unknown> {
  const bytes = await readBodyCapped(response, MAX_GRADIO_ANSWER_BYTES).catch((error) => {
    throw error instanceof BodyTooLargeError ? tooLarge(what, error) : error;
  });
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** `body`, failing once more than `MAX_GRADIO_ANSWER_BYTES` passed (the source is then cancelled). */
function capped(body: ReadableStream<Uint8Array>, what: string): ReadableStream<Uint8Array> {
  let size = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > MAX_GRADIO_ANSWER_BYTES) controller.error(tooLarge(what));
        else controller.enqueue(chunk);
      },
    }),
  );
}

function headersFor(connection: GradioConnection, url: string, extra: Record<string, string> = {}): Headers {
  const headers = new Headers(extra);
  if (connection.token && new URL(url).origin === new URL(connection.root).origin) {
    headers.set("authorization", `Bearer ${connection.token}`);
  }
  return headers;
}

async function request(
  connection: GradioConnection,
  url: string,
  init: RequestInit & { headers?: Record<string, string> },
  what: string,
): Promise<Response> {
  const response = await guardedFetch(
    url,
    { ...init, headers: headersFor(connection, url, init.headers) },
    connection.egress,
  );
  if (response.ok) return response;
  const text = clipText(await readStart(response, 4 * ECHO).catch(() => ""), ECHO);
  throw new GradioError(`${what} answered ${response.status}${text ? `: ${text}` : ""}`, {
    retryable: response.status === 429 || response.status >= 500,
  });
}

/** Reads the app's API info, trying Gradio 5's `/gradio_api/info` first and Gradio 4's `/info` on a 404. */
export async function fetchApiInfo(
  connection: Omit<GradioConnection, "prefix">,
  signal?: AbortSignal,
): Promise<{ info: GradioApiInfo; prefix: string }> {
  for (const prefix of ["/gradio_api", ""]) {
    const url = `${connection.root}${prefix}/info`;
    const response = await guardedFetch(
      url,
      { signal, headers: headersFor({ ...connection, prefix }, url) },
      connection.egress,
    );
    if (response.status === 404 && prefix) {
      await response.body?.cancel();
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new GradioError(`the API info of ${connection.root} answered ${response.status}`, {
        retryable: response.status === 429 || response.status >= 500,
      });
    }
    const info = await readJson(response, `the API info of ${connection.root}`) as GradioApiInfo | undefined;
    if (!info || typeof info.named_endpoints !== "object" || info.named_endpoints === null) {
      throw new GradioError(`the API info of ${connection.root} is not Gradio's (no named_endpoints)`);
    }
    return { info, prefix };
  }
  throw new GradioError(`${connection.root} serves no Gradio API info`);
}

/**
 * Calls an endpoint and waits for its `complete` event: the output list. An `error` event is a `GradioError`
 * carrying the app's message (Gradio sends `null` unless the app shows errors); heartbeats and partial outputs
 * (`generating`) are read past.
 */
export async function callEndpoint(
  connection: GradioConnection,
  apiName: string,
  data: unknown[],
  signal?: AbortSignal,
): Promise<unknown[]> {
  const name = apiName.replace(/^\//, "");
  const base = `${connection.root}${connection.prefix}/call/${name}`;
  const started = await request(connection, base, {
    method: "POST",
    body: JSON.stringify({ data }),
    headers: { "content-type": "application/json" },
    signal,
  }, `calling ${apiName}`);
  const { event_id: eventId } = (await readJson(started, `calling ${apiName}`) ?? {}) as { event_id?: unknown };
  if (typeof eventId !== "string" || !eventId) throw new GradioError(`calling ${apiName} returned no event_id`);
  const stream = await request(connection, `${base}/${encodeURIComponent(eventId)}`, {
    signal,
    headers: { accept: "text/event-stream" },
  }, `the result stream of ${apiName}`);
  if (!stream.body) throw new GradioError(`the result stream of ${apiName} is empty`);
  const events = readSse(capped(stream.body, `the result stream of ${apiName}`), { dispatchAtEnd: true });
  for await (const { event, data: text } of events) {
    if (event === "complete") {
      const output = parseJson(text);
      return Array.isArray(output) ? output : [output];
    }
    if (event === "error") {
      const message = parseJson(text);
      throw new GradioError(
        `${apiName} failed: ${
          typeof message === "string" && message ? clipText(message, ECHO) : "the app reported an error"
        }`,
      );
    }
  }
  throw new GradioError(`the result stream of ${apiName} ended before its result`, { retryable: true });
}

/** Uploads files; answers the server paths, as `FileData` for an input. */
export async function uploadFiles(
  connection: GradioConnection,
  files: Blob[],
  signal?: AbortSignal,
): Promise<GradioFileData[]> {
  const form = new FormData();
  for (const file of files) form.append("files", file, file instanceof File ? file.name : "file");
  const response = await request(connection, `${connection.root}${connection.prefix}/upload`, {
    method: "POST",
    body: form,
    signal,
  }, "the upload");
  const paths = await readJson(response, "the upload's answer");
  if (!Array.isArray(paths) || paths.length !== files.length || !paths.every((path) => typeof path === "string")) {
    throw new GradioError("the upload answered no list of paths");
  }
  return paths.map((path, index) => ({
    path,
    orig_name: files[index] instanceof File ? (files[index] as File).name : null,
    mime_type: files[index].type || null,
    size: files[index].size,
    meta: { _type: "gradio.FileData" as const },
  }));
}

/** True for a Gradio `FileData` value. */
export function isFileData(value: unknown): value is GradioFileData {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { path, meta } = value as { path?: unknown; meta?: { _type?: unknown } };
  return typeof path === "string" && (meta?._type === "gradio.FileData" || "url" in value);
}

/** The URL of an output file: its `url`, or the app's file route for its path. */
export function fileUrl(connection: GradioConnection, file: GradioFileData): string {
  if (file.url) return new URL(file.url, `${connection.root}/`).href;
  if (/^https?:\/\//i.test(file.path)) return file.path;
  return `${connection.root}${connection.prefix}/file=${file.path}`;
}

/** Downloads an output file through the egress guard, at most `maxFileBytes`. */
export async function downloadFile(
  connection: GradioConnection,
  file: GradioFileData,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; mimeType?: string }> {
  const url = fileUrl(connection, file);
  const response = await request(connection, url, { signal }, `the file ${clipText(url, ECHO)}`);
  const max = connection.maxFileBytes ?? MAX_BLOB_BYTES;
  const bytes = await readBodyCapped(response, max).catch((error) => {
    throw error instanceof BodyTooLargeError
      ? new GradioError(`the file ${clipText(url, ECHO)} holds more than ${max} bytes`, { cause: error })
      : error;
  });
  return { bytes, mimeType: file.mime_type ?? response.headers.get("content-type") ?? undefined };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
