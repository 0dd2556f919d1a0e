/**
 * Loopback stand-ins for the Hugging Face endpoints `@huggingface/inference` calls, whose hosts are fixed in the
 * library (https://huggingface.co for the Hub API, https://router.huggingface.co for the router):
 *
 * - `startHfHubServer()` answers the Hub's model-info call that maps a Hub id to a provider's model name,
 *   `GET /api/models/{org}/{name}?expand[]=inferenceProviderMapping`.
 * - `redirectingFetch()` is a `fetch` for the client's `fetch` option that sends those hosts to loopback servers,
 *   keeping path and query, and records the URL the library asked for. The router's paths
 *   (`/v1/chat/completions`, `/{provider}/v1/chat/completions`) are served by the scripted model server.
 */

export const HF_HUB_ORIGIN = "https://huggingface.co";
export const HF_ROUTER_ORIGIN = "https://router.huggingface.co";

export interface HubRequest {
  url: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
}

export interface HfHubServer extends AsyncDisposable {
  /** e.g. "http://127.0.0.1:41234". */
  readonly origin: string;
  readonly requests: HubRequest[];
  /** Declares which providers serve a Hub model, and under which name: `{ together: "org/model-turbo" }`. */
  map(modelId: string, providers: Record<string, string>): void;
  close(): Promise<void>;
}

/** Starts the Hub stand-in on 127.0.0.1 with a free port. Unknown models get a 404 like the Hub's. */
export async function startHfHubServer(): Promise<HfHubServer> {
  const mappings = new Map<string, Record<string, string>>();
  const requests: HubRequest[] = [];
  const serve = (req: Request): Response => {
    const url = new URL(req.url);
    const headers = Object.fromEntries(req.headers);
    requests.push({ url: req.url, path: url.pathname, query: Object.fromEntries(url.searchParams), headers });
    const modelId = url.pathname.match(/^\/api\/models\/(.+)$/)?.[1];
    const providers = modelId === undefined ? undefined : mappings.get(modelId);
    if (req.method !== "GET" || !providers) {
      return Response.json({ error: "Repository not found" }, { status: 404 });
    }
    const inferenceProviderMapping = Object.entries(providers).map(([provider, providerId]) => ({
      provider,
      providerId,
      hfModelId: modelId,
      status: "live",
      task: "conversational",
    }));
    return Response.json({ _id: crypto.randomUUID(), id: modelId, inferenceProviderMapping });
  };
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: listening.resolve }, serve);
  const { port } = await listening.promise;
  let closed: Promise<void> | undefined;
  const close = () => closed ??= server.shutdown();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    map: (modelId, providers) => void mappings.set(modelId, providers),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A `fetch` that sends requests for the given origins to other origins (path and query kept) and pushes every
 * requested URL, as the caller asked for it, to `seen`. Other URLs go out unchanged.
 */
export function redirectingFetch(routes: Record<string, string>, seen: string[] = []): typeof fetch {
  return (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push(url);
    const { origin, pathname, search } = new URL(url);
    const target = routes[origin];
    return fetch(target ? `${target}${pathname}${search}` : url, init);
  };
}
