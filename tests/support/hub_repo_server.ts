/**
 * A loopback stand-in for the part of the Hugging Face Hub API that `@huggingface/hub`'s `createRepo` and
 * `uploadFiles` call and that the Hub's "resolve" URL serves, for Space repositories (where tools and agents live):
 *
 * - `POST /api/repos/create` {name, organization, type, sdk, visibility|private} -> `{url, id}`; 409 when it exists.
 * - `POST /api/spaces/{ns}/{name}/preupload/{branch}[?create_pr=1]` {files:[{path,size,sample}]} ->
 *   `{files:[{path, uploadMode:"regular", shouldIgnore:false}], commitOid}` (every file regular: no LFS).
 * - `POST /api/spaces/{ns}/{name}/commit/{branch}[?create_pr=1]`, NDJSON: a `header` line, then `file` lines
 *   ({path, content, encoding:"base64"}) and `deletedFile` lines -> `{commitOid, commitUrl, pullRequestUrl?}`.
 *   With `create_pr=1` the commit goes to `refs/pr/N`, main is untouched. `lfsFile` lines are refused (400).
 * - `GET /spaces/{ns}/{name}/resolve/{revision}/{path}` -> the file, 404 (`X-Error-Code: EntryNotFound` /
 *   `RepoNotFound`); a private repo answers 404 without the owner's token, as the Hub does.
 *
 * Writes need `Authorization: Bearer <token>` with the server's token (401 otherwise).
 */

export interface HubRepoRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | null;
  contentType: string | null;
  body: string;
}

export interface HubRepoServer extends AsyncDisposable {
  readonly origin: string;
  readonly requests: HubRepoRequest[];
  /** Files of a Space at a revision ("main", "refs/pr/1"), or undefined. */
  files(repoId: string, revision?: string): Record<string, string> | undefined;
  /**
   * Answers the resolve URL of one file with a 302 to `location` (as the Hub sends large files to its CDN);
   * `/cdn/{repoId}/{revision}/{path}` on this server serves the file itself.
   */
  redirect(repoId: string, path: string, location: string): void;
  /** Puts files into a Space directly (creating it), e.g. a hand-written tool. */
  seed(repoId: string, files: Record<string, string>, options?: { private?: boolean }): void;
  close(): Promise<void>;
}

interface Repo {
  private: boolean;
  sdk: string;
  revisions: Map<string, Map<string, string>>;
  prs: number;
}

export async function startHubRepoServer(options: { token?: string } = {}): Promise<HubRepoServer> {
  const token = options.token ?? "hf_test_write";
  const repos = new Map<string, Repo>();
  const requests: HubRepoRequest[] = [];
  const redirects = new Map<string, string>();
  let commits = 0;
  let origin = "";

  const json = (value: unknown, status = 200, headers: Record<string, string> = {}) =>
    Response.json(value, { status, headers });
  const authorized = (req: Request) => req.headers.get("authorization") === `Bearer ${token}`;

  const serve = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const body = req.method === "GET" ? "" : await req.text();
    requests.push({
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      body,
    });
    const resolve = url.pathname.match(/^\/spaces\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
    const location = resolve ? redirects.get(`${resolve[1]}/${resolve[3]}`) : undefined;
    if (req.method === "GET" && location) return new Response(null, { status: 302, headers: { location } });
    const cdn = url.pathname.match(/^\/cdn\/([^/]+\/[^/]+)\/([^/]+)\/(.+)$/);
    if (req.method === "GET" && cdn) {
      const [, repoId, revision, path] = cdn.map(decodeURIComponent);
      const file = repos.get(repoId)?.revisions.get(revision)?.get(path);
      return file === undefined ? json({ error: "Entry not found" }, 404) : new Response(file);
    }
    if (req.method === "GET" && resolve) {
      const [, repoId, revision, path] = resolve.map(decodeURIComponent);
      const repo = repos.get(repoId);
      if (!repo || (repo.private && !authorized(req))) {
        return json({ error: "Repository not found" }, 404, { "X-Error-Code": "RepoNotFound" });
      }
      const file = repo.revisions.get(revision)?.get(path);
      if (file === undefined) return json({ error: "Entry not found" }, 404, { "X-Error-Code": "EntryNotFound" });
      return new Response(file, { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    if (req.method !== "POST") return json({ error: "Not found" }, 404);
    if (!authorized(req)) return json({ error: "Invalid credentials in Authorization header" }, 401);
    if (url.pathname === "/api/repos/create") {
      const payload = JSON.parse(body);
      if (payload.type !== "space") return json({ error: `only spaces here, got ${payload.type}` }, 400);
      if (!payload.sdk) return json({ error: "sdk is required for spaces" }, 400);
      const repoId = `${payload.organization}/${payload.name}`;
      if (repos.has(repoId)) return json({ error: "You already created this space repo" }, 409);
      repos.set(repoId, {
        private: payload.visibility === "private" || payload.private === true,
        sdk: payload.sdk,
        revisions: new Map([["main", new Map()]]),
        prs: 0,
      });
      return json({ url: `${origin}/spaces/${repoId}`, id: `space-${repos.size}` });
    }
    const api = url.pathname.match(/^\/api\/spaces\/([^/]+\/[^/]+)\/(preupload|commit)\/([^/]+)$/);
    const repo = api ? repos.get(api[1]) : undefined;
    if (!api || !repo) return json({ error: "Repository not found" }, 404);
    const [, repoId, action] = api;
    if (action === "preupload") {
      const { files } = JSON.parse(body) as { files: Array<{ path: string; size: number; sample: string }> };
      return json({
        files: files.map((file) => ({ path: file.path, uploadMode: "regular", shouldIgnore: false })),
        commitOid: `oid${commits}`,
      });
    }
    if (req.headers.get("content-type") !== "application/x-ndjson") return json({ error: "expected NDJSON" }, 400);
    const lines = body.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    if (lines[0]?.key !== "header") return json({ error: "the first line must be the header" }, 400);
    const pr = url.searchParams.get("create_pr") === "1";
    const branch = pr ? `refs/pr/${++repo.prs}` : decodeURIComponent(api[3]);
    const files = new Map(repo.revisions.get(pr ? "main" : branch) ?? []);
    for (const { key, value } of lines.slice(1)) {
      if (key === "file") {
        if (value.encoding !== "base64") return json({ error: "unsupported encoding" }, 400);
        const bytes = Uint8Array.from(atob(value.content), (char) => char.charCodeAt(0));
        files.set(value.path, new TextDecoder().decode(bytes));
      } else if (key === "deletedFile") files.delete(value.path);
      else return json({ error: `unsupported operation ${key}` }, 400);
    }
    repo.revisions.set(branch, files);
    const commitOid = `c${++commits}`.padEnd(40, "0");
    return json({
      success: true,
      commitOid,
      commitUrl: `${origin}/spaces/${repoId}/commit/${commitOid}`,
      ...(pr ? { pullRequestUrl: `${origin}/spaces/${repoId}/discussions/${repo.prs}` } : {}),
    });
  };

  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => listening.resolve() }, serve);
  await listening.promise;
  origin = `http://127.0.0.1:${server.addr.port}`;
  const close = async () => {
    await server.shutdown();
  };
  return {
    origin,
    requests,
    files: (repoId, revision = "main") => {
      const files = repos.get(repoId)?.revisions.get(revision);
      return files ? Object.fromEntries(files) : undefined;
    },
    redirect: (repoId, path, location) => void redirects.set(`${repoId}/${path}`, location),
    seed(repoId, files, seedOptions = {}) {
      repos.set(repoId, {
        private: seedOptions.private ?? false,
        sdk: "static",
        revisions: new Map([["main", new Map(Object.entries(files))]]),
        prs: 0,
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
