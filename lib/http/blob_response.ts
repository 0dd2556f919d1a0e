import type { BlobContent } from "../stores/blob_ref.ts";

/**
 * A stored blob as an HTTP response (`GET /v1/runs/{runId}/blobs/{sha256}`). Its media type is what the bytes are
 * (`sniffMediaType`: PNG, JPEG, GIF, WebP, BMP, WAV, MP3, Ogg, FLAC), never the type a ref or a caller claims, so no
 * blob is served as HTML, SVG or script: those are shown inline; anything else is `text/plain` or
 * `application/octet-stream` as a download. `nosniff` and a sandboxing CSP hold whichever way the browser opens it.
 */
export function blobResponse(content: BlobContent, sha256: string): Response {
  const inline = /^(image|audio)\//.test(content.mimeType);
  const text = content.mimeType === "text/plain";
  const headers: Record<string, string> = {
    "Content-Type": inline ? content.mimeType : text ? "text/plain; charset=utf-8" : "application/octet-stream",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
    "Content-Disposition": inline ? "inline" : `attachment; filename="${sha256.slice(0, 16)}.${text ? "txt" : "bin"}"`,
  };
  return new Response(content.bytes as Uint8Array<ArrayBuffer>, { status: 200, headers });
}
