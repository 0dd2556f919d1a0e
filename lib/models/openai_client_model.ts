/**
 * The base of every backend that talks to an OpenAI-compatible chat completions server (OpenAIServerModel,
 * AzureOpenAIServerModel, LiteLLMModel, MLXModel) with plain `fetch`: a POST of the JSON request body, answered by a
 * JSON completion or, when streaming, a `text/event-stream` of chunks ending with `data: [DONE]` (the protocol the
 * `openai` clients speak). A subclass says only where requests go and how they are authenticated (`endpoint()`).
 * Request bodies, replies, streams, retries and errors are `chat_completions_model.ts`'s, shared with
 * InferenceClientModel.
 *
 * It does not use the `openai` npm client: that client is the largest part of a Workers bundle (about 170 KiB gzip)
 * and of a step's CPU on the server (about 30% of the main thread), for a protocol of one POST.
 */

import { ConfigurationError } from "../errors.ts";
import { readSse } from "../net/sse.ts";
import { ChatCompletionsModel, type StreamingChatRequestBody } from "./chat_completions_model.ts";
import { HttpFailure, serverMessage } from "./http_failure.ts";
import type { ChatRequestBody, WireChunk, WireCompletion } from "./openai_compatible.ts";
import { attemptTimer, type RemoteModelOptions } from "./request_runner.ts";

/** The per-attempt timeout when none is set: the `openai` client's default, 10 minutes. */
const DEFAULT_OPENAI_TIMEOUT_MS = 600_000;

/** OpenAI's API, where requests go when no base URL is given. */
export const OPENAI_API_BASE = "https://api.openai.com/v1";

/**
 * Transport settings, named as in the `openai` package's `ClientOptions` (the fields that mean something for a chat
 * completion; others are ignored). A backend's own options (`apiBase`, `apiKey`, `timeoutMs`...) win over these.
 */
export interface OpenAIClientOptions {
  /** Base URL of the API; requests go to `{baseURL}/chat/completions`. */
  baseURL?: string | null;
  /** Sent as `Authorization: Bearer {apiKey}`. */
  apiKey?: string;
  /** Sent as `OpenAI-Organization`. */
  organization?: string | null;
  /** Sent as `OpenAI-Project`. */
  project?: string | null;
  /** Headers sent with every request; a `null` value removes a header the backend would send. */
  defaultHeaders?: Record<string, string | null | undefined>;
  /** Query parameters added to every request URL. */
  defaultQuery?: Record<string, string | undefined>;
  /** The `fetch` requests are sent with (default: the global one). */
  fetch?: typeof fetch;
  /** Extra `fetch` init fields (e.g. Deno's `client`, undici's `dispatcher`); method, body and signal are ours. */
  fetchOptions?: RequestInit;
  /** Per-attempt timeout in ms (a backend's `timeoutMs` wins; default 10 minutes). */
  timeout?: number;
  /**
   * Allow sending a key from a browser page, where anyone who opens it can read the key. Without it, a model with a
   * key refuses to run in a browser (as the `openai` client does).
   */
  dangerouslyAllowBrowser?: boolean;
}

export interface OpenAIClientModelSettings extends RemoteModelOptions {
  /** Backend name for error messages. */
  label: string;
  /** Model name sent as `model`. */
  modelId: string;
  clientOptions?: OpenAIClientOptions;
}

/** Where a backend's requests go and what they carry. */
export interface ChatEndpoint {
  /** The chat completions URL, query included. */
  url: string;
  /** Headers for every request (authentication included). */
  headers: Record<string, string>;
  /** Headers made per request, e.g. a fresh Entra ID token; they win over `headers`. */
  freshHeaders?: () => Promise<Record<string, string>>;
  /** Whether the request carries a credential (a browser page then needs `dangerouslyAllowBrowser`). */
  credentialed: boolean;
  /** "manual" where a credential header would be sent on to wherever a redirect points (Azure's `api-key`). */
  redirect?: RequestRedirect;
}

/** A chat model served through the OpenAI chat completions API. */
export abstract class OpenAIClientModel extends ChatCompletionsModel {
  protected readonly clientOptions: OpenAIClientOptions;
  readonly #timeoutMs: number;
  readonly #label: string;
  #endpoint: ChatEndpoint | undefined;

  protected constructor(settings: OpenAIClientModelSettings) {
    const timeoutMs = settings.timeoutMs ?? settings.clientOptions?.timeout ?? DEFAULT_OPENAI_TIMEOUT_MS;
    super({ ...settings, timeoutMs, detail: (error) => error instanceof HttpFailure ? error.detail : undefined });
    this.clientOptions = settings.clientOptions ?? {};
    this.#timeoutMs = timeoutMs;
    this.#label = settings.label;
  }

  /** Where requests go, worked out once at the first call; throw a `ConfigurationError` for missing settings. */
  protected abstract endpoint(): ChatEndpoint;

  protected sendRequest(body: ChatRequestBody, signal: AbortSignal | undefined): Promise<WireCompletion> {
    return this.#post(body, signal, (response) => response.json());
  }

  protected openStream(
    body: StreamingChatRequestBody,
    signal: AbortSignal | undefined,
  ): Promise<AsyncIterable<WireChunk>> {
    return this.#post(body, signal, (response) => Promise.resolve(readChunks(response)));
  }

  /**
   * The endpoint of an OpenAI-style API at `baseURL`: `{baseURL}/chat/completions` with `defaultQuery`, JSON
   * headers, the bearer `apiKey` (none without one), organization and project (the backend's, else
   * `clientOptions`'), then `defaultHeaders`.
   */
  protected bearerEndpoint(
    baseURL: string,
    apiKey: string | undefined,
    account: { organization?: string | null; project?: string | null } = {},
  ): ChatEndpoint {
    const organization = account.organization ?? this.clientOptions.organization;
    const project = account.project ?? this.clientOptions.project;
    const auth: Record<string, string> = {};
    if (apiKey) auth.authorization = `Bearer ${apiKey}`;
    if (organization) auth["openai-organization"] = organization;
    if (project) auth["openai-project"] = project;
    return this.customEndpoint(joinApiPath(baseURL, "/chat/completions"), auth, { credentialed: !!apiKey });
  }

  /** `url` (plus `defaultQuery` and `query`) with JSON headers, these authentication headers, then `defaultHeaders`. */
  protected customEndpoint(
    url: string,
    auth: Record<string, string>,
    extra: Pick<ChatEndpoint, "credentialed" | "freshHeaders" | "redirect"> & { query?: Record<string, string> },
  ): ChatEndpoint {
    const { defaultHeaders = {}, defaultQuery = {} } = this.clientOptions;
    const target = new URL(url);
    for (const [name, value] of Object.entries({ ...defaultQuery, ...extra.query })) {
      if (value !== undefined) target.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", ...auth };
    for (const [name, value] of Object.entries(defaultHeaders)) {
      if (value === null) delete headers[name.toLowerCase()];
      else if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    const { credentialed, freshHeaders, redirect } = extra;
    return { url: target.href, headers, credentialed, freshHeaders, redirect };
  }

  #getEndpoint(): ChatEndpoint {
    if (this.#endpoint) return this.#endpoint;
    const endpoint = this.endpoint();
    if (endpoint.credentialed && inBrowserPage() && !this.clientOptions.dangerouslyAllowBrowser) {
      throw new ConfigurationError(
        `${this.#label} "${this.modelId}": refusing to send an API key from a browser page, where anyone can read ` +
          "it; call the model from your server, or pass `clientOptions: { dangerouslyAllowBrowser: true }`",
      );
    }
    return this.#endpoint = endpoint;
  }

  /**
   * One attempt: the timeout bounds the response and what `read` does with it (a whole reply; for a stream, until
   * it starts). A failed status throws an `HttpFailure` with the server's message; a timeout its `TimeoutError`.
   */
  async #post<T>(body: unknown, signal: AbortSignal | undefined, read: (response: Response) => Promise<T>): Promise<T> {
    const endpoint = this.#getEndpoint();
    const timer = attemptTimer(this.#timeoutMs);
    try {
      const headers = endpoint.freshHeaders
        ? { ...endpoint.headers, ...await endpoint.freshHeaders() }
        : endpoint.headers;
      const { fetch: send = fetch, fetchOptions } = this.clientOptions;
      const response = await send(endpoint.url, {
        ...fetchOptions,
        ...(endpoint.redirect ? { redirect: endpoint.redirect } : {}),
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timer.signal]) : timer.signal,
      });
      if (!response.ok) throw await HttpFailure.read(response);
      return await read(response);
    } catch (error) {
      if (timer.signal.aborted && !signal?.aborted) throw timer.signal.reason;
      throw error;
    } finally {
      timer.clear();
    }
  }
}

/**
 * The chunks of a streamed completion, until `data: [DONE]` or the body's end (a last chunk without its blank line
 * counts, as in the `openai` client); an error the server sends mid-stream is thrown.
 */
async function* readChunks(response: Response): AsyncGenerator<WireChunk> {
  if (!response.body) throw new Error("the stream has no body");
  for await (const message of readSse(response.body, { dispatchAtEnd: true })) {
    if (message.data === "[DONE]") return;
    const data = JSON.parse(message.data);
    if (message.event === "error" || data?.error) {
      throw new Error(`the server reported an error mid-stream: ${serverMessage(data) ?? message.data}`);
    }
    yield data as WireChunk;
  }
}

/**
 * `{base}{path}` as the `openai` client joins them: a query on the base stays the query (`defaultQuery` and the
 * backend's own parameters win over it), a fragment is dropped, and trailing slashes on the base are not doubled.
 */
export function joinApiPath(base: string, path: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${path}`;
  url.hash = "";
  return url.href;
}

/** A web page (a window with a document), not a worker, Deno or Node. */
function inBrowserPage(): boolean {
  const global = globalThis as { window?: { document?: unknown } };
  return typeof global.window?.document !== "undefined";
}
