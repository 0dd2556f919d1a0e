/** A small JSON client for driving smolstep over real HTTP in tests. */

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export function apiClient(baseUrl: string, options: { apiKey?: string } = {}) {
  async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const init: RequestInit = { method, headers: { ...headers } };
    if (options.apiKey) (init.headers as Record<string, string>).Authorization = `Bearer ${options.apiKey}`;
    if (body !== undefined) {
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      throw new Error(`${method} ${path} answered ${response.status} with non-JSON: ${text.slice(0, 300)}`);
    }
    return { status: response.status, headers: response.headers, body: parsed as T } satisfies ApiResponse<T>;
  }
  return {
    // deno-lint-ignore no-explicit-any
    get: <T = any>(path: string, headers?: Record<string, string>) => request<T>("GET", path, undefined, headers),
    // deno-lint-ignore no-explicit-any
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      request<T>("POST", path, body, headers),
    // deno-lint-ignore no-explicit-any
    delete: <T = any>(path: string, headers?: Record<string, string>) => request<T>("DELETE", path, undefined, headers),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
