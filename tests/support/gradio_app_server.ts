/**
 * A loopback stand-in for a Gradio app (and the two Hub endpoints Spaces need), speaking Gradio's documented HTTP
 * API as Gradio 5 serves it under `/gradio_api` (or Gradio 4 at the root with `legacy: true`):
 *
 * - `GET /gradio_api/info`: `{named_endpoints, unnamed_endpoints}` as given.
 * - `POST /gradio_api/call/{api_name}` with `{"data": [...]}`: `{"event_id"}`.
 * - `GET /gradio_api/call/{api_name}/{event_id}`: `text/event-stream` with `event: heartbeat` / `generating` /
 *   `complete` (the output list) or `error` (the handler's message, or null).
 * - `POST /gradio_api/upload` (multipart `files`): the server paths, `["/tmp/gradio/<sha>/<name>"]`.
 * - `GET /gradio_api/file=<path>`: an uploaded or served file.
 * - Hub: `GET /api/spaces/{owner}/{name}/host` (`{subdomain, host}`) and `GET /api/collections/{slug}`.
 */

import type { GradioApiInfo } from "../../lib/hub/mod.ts";

export interface GradioFile {
  bytes: Uint8Array;
  type: string;
}

/** An endpoint's behaviour: outputs, or a thrown `GradioAppError` (its message shown, as with show_error). */
export type GradioHandler = (data: unknown[], app: GradioAppServer) => unknown[] | Promise<unknown[]>;

export class GradioAppError extends Error {
  constructor(message: string | null) {
    super(message ?? "");
    this.shown = message;
  }
  readonly shown: string | null;
}

export interface GradioAppRequest {
  method: string;
  path: string;
  authorization: string | null;
}

export interface GradioAppServer extends AsyncDisposable {
  /** e.g. "http://127.0.0.1:41234". */
  readonly origin: string;
  readonly requests: GradioAppRequest[];
  /** The data list of each call, in order. */
  readonly calls: Array<{ api: string; data: unknown[] }>;
  /** Files uploaded, by server path. */
  readonly files: Map<string, GradioFile>;
  /** Serves a file at `/gradio_api/file=<path>`; returns its Gradio `FileData` (with `url`). */
  serveFile(path: string, file: GradioFile): Record<string, unknown>;
  /** Spaces the Hub stand-in knows: id -> app URL. */
  readonly spaces: Map<string, string>;
  /** Collections the Hub stand-in knows: slug -> the collection JSON. */
  readonly collections: Map<string, unknown>;
  close(): Promise<void>;
}

export interface GradioAppOptions {
  info: GradioApiInfo;
  handlers: Record<string, GradioHandler>;
  /** Gradio 4: no `/gradio_api` prefix (and `/gradio_api/info` is a 404). */
  legacy?: boolean;
  /** Heartbeats sent before the result. */
  heartbeats?: number;
  /** The stream ends right after the last event's data line, without the blank line that ends the event. */
  unterminatedEnd?: boolean;
}

export async function startGradioApp(options: GradioAppOptions): Promise<GradioAppServer> {
  const prefix = options.legacy ? "" : "/gradio_api";
  const requests: GradioAppRequest[] = [];
  const files = new Map<string, GradioFile>();
  const spaces = new Map<string, string>();
  const collections = new Map<string, unknown>();
  const calls: Array<{ api: string; data: unknown[] }> = [];
  const events = new Map<string, { api: string; data: unknown[] }>();

  const sse = (chunks: string[]) =>
    new Response(
      new ReadableStream({
        async start(controller) {
          for (const chunk of chunks) {
            controller.enqueue(new TextEncoder().encode(chunk));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          controller.close();
        },
      }),
      { headers: { "content-type": "text/event-stream; charset=utf-8" } },
    );

  const serve = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method, path, authorization: req.headers.get("authorization") });
    const host = path.match(/^\/api\/spaces\/([^/]+\/[^/]+)\/host$/);
    if (host && req.method === "GET") {
      const target = spaces.get(host[1]);
      return target
        ? Response.json({ subdomain: host[1].replace("/", "-"), host: target })
        : Response.json({ error: "Repository not found" }, { status: 404 });
    }
    const collection = path.match(/^\/api\/collections\/(.+)$/);
    if (collection && req.method === "GET") {
      const found = collections.get(collection[1]);
      return found ? Response.json(found) : Response.json({ error: "Collection not found" }, { status: 404 });
    }
    if (!path.startsWith(`${prefix}/`)) return new Response("Not Found", { status: 404 });
    const rest = path.slice(prefix.length);
    if (rest === "/info" && req.method === "GET") return Response.json(options.info);
    if (rest === "/upload" && req.method === "POST") {
      const form = await req.formData();
      const paths: string[] = [];
      for (const entry of form.getAll("files")) {
        if (typeof entry === "string") return Response.json({ detail: "not a file" }, { status: 422 });
        const bytes = new Uint8Array(await entry.arrayBuffer());
        const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).slice(0, 8))
          .map((b) => b.toString(16).padStart(2, "0")).join("");
        const serverPath = `/tmp/gradio/${digest}/${entry.name}`;
        files.set(serverPath, { bytes, type: entry.type || "application/octet-stream" });
        paths.push(serverPath);
      }
      return Response.json(paths);
    }
    if (rest.startsWith("/file=") && req.method === "GET") {
      const file = files.get(rest.slice("/file=".length));
      return file
        ? new Response(file.bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": file.type } })
        : new Response("File not found", { status: 404 });
    }
    const call = rest.match(/^\/call\/([^/]+)(?:\/([^/]+))?$/);
    if (call && !call[2] && req.method === "POST") {
      if (!options.handlers[call[1]]) return Response.json({ detail: "Not Found" }, { status: 404 });
      const body = await req.json() as { data?: unknown };
      if (!Array.isArray(body.data)) return Response.json({ detail: "data must be a list" }, { status: 422 });
      const eventId = crypto.randomUUID().replaceAll("-", "");
      events.set(eventId, { api: call[1], data: body.data });
      calls.push({ api: call[1], data: body.data });
      return Response.json({ event_id: eventId });
    }
    if (call && call[2] && req.method === "GET") {
      const event = events.get(call[2]);
      if (!event || event.api !== call[1]) return Response.json({ detail: "Not Found" }, { status: 404 });
      events.delete(call[2]);
      const chunks = Array.from({ length: options.heartbeats ?? 1 }, () => "event: heartbeat\ndata: null\n\n");
      try {
        const output = await options.handlers[call[1]](event.data, app);
        chunks.push(`event: generating\ndata: ${JSON.stringify(output)}\n\n`);
        chunks.push(`event: complete\ndata: ${JSON.stringify(output)}\n\n`);
      } catch (error) {
        const shown = error instanceof GradioAppError ? error.shown : null;
        chunks.push(`event: error\ndata: ${JSON.stringify(shown)}\n\n`);
      }
      if (options.unterminatedEnd) chunks.push(chunks.pop()!.replace(/\n\n$/, ""));
      return sse(chunks);
    }
    return new Response("Not Found", { status: 404 });
  };

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: listening.resolve }, serve);
  const { port } = await listening.promise;
  const origin = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const close = () => closed ??= server.shutdown();
  const app: GradioAppServer = {
    origin,
    requests,
    calls,
    files,
    spaces,
    collections,
    serveFile(path, file) {
      files.set(path, file);
      return {
        path,
        url: `${origin}${prefix}/file=${path}`,
        size: file.bytes.length,
        orig_name: path.split("/").pop(),
        mime_type: file.type,
        is_stream: false,
        meta: { _type: "gradio.FileData" },
      };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return app;
}
