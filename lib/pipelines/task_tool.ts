/**
 * The base of `loadTool`'s five task tools: a `PipelineTool` whose `forward` runs either remotely, through
 * `@huggingface/inference` (the default; edge-safe: only `fetch`, through the egress guard), or locally, through a
 * transformers.js pipeline (`local: true`; Deno and Node only).
 *
 * Remote requests: POST `{endpoint}/models/{model}` (default endpoint `https://router.huggingface.co/hf-inference`,
 * the URL `@huggingface/inference` builds for the hf-inference provider), or, with `provider`, the client's own
 * routing for that Inference Provider. `Authorization: Bearer {token}` when a token is given.
 */

import type { InferenceProviderOrPolicy, Options as HfOptions } from "@huggingface/inference";
import { ConfigurationError } from "../errors.ts";
import { type EgressPolicy, guardedFetch } from "../net/egress.ts";
import type { ToolContext } from "../tools/tool.ts";
import { PipelineTool, type PipelineToolOptions } from "./pipeline_tool.ts";
import {
  assertLocalSupported,
  loadLocalPipeline,
  type LocalPipeline,
  type LocalPipelineOptions,
} from "./local_pipeline.ts";

/** The Hugging Face router's hf-inference base: `{endpoint}/models/{model}` is a model's task URL. */
export const DEFAULT_INFERENCE_ENDPOINT = "https://router.huggingface.co/hf-inference";

export interface TaskToolOptions extends PipelineToolOptions {
  /** Run through transformers.js on this machine (Deno / Node) instead of remotely. */
  local?: boolean;
  /**
   * Base URL of the inference API (default `DEFAULT_INFERENCE_ENDPOINT`); requests go to
   * `{endpoint}/models/{model}`. A dedicated Inference Endpoint or a test server.
   */
  endpoint?: string;
  /** An Inference Provider (e.g. "fal-ai", "replicate", "auto") routed by `@huggingface/inference`; not with `endpoint`. */
  provider?: string;
  /** Which URLs remote calls may reach (default: public https hosts); loopback test servers need an opt-in. */
  egress?: EgressPolicy;
  /** The `fetch` the egress guard sends each checked request with (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Local runs: transformers.js loading options (`localModelPath`, `dtype`, `allowRemoteModels`, `cacheDir`...). */
  localOptions?: LocalPipelineOptions;
}

/** What a remote task call gets: the route arguments and the request options to spread into the client call. */
export interface RemoteRoute {
  args: { model: string; accessToken?: string; endpointUrl?: string; provider?: InferenceProviderOrPolicy };
  options: HfOptions;
}

/** A task tool: `remote` and `local` are the two ways to run the model on encoded inputs. */
export abstract class TaskTool<
  Args extends Record<string, unknown>,
  Output,
  Encoded extends Record<string, unknown>,
  Raw,
> extends PipelineTool<Args, Output, Encoded, Raw> {
  /** The transformers.js pipeline task name (e.g. "automatic-speech-recognition"); undefined when there is none. */
  abstract readonly localTask: string | undefined;
  /** The ONNX checkpoint `local: true` uses when no model is given. */
  abstract readonly defaultLocalCheckpoint: string | undefined;
  readonly local: boolean;
  readonly #options: TaskToolOptions;
  #pipeline: LocalPipeline | undefined;

  constructor(options: TaskToolOptions = {}) {
    super(options);
    if (options.endpoint !== undefined && options.provider !== undefined) {
      throw new ConfigurationError("pass `endpoint` or `provider`, not both");
    }
    this.local = options.local ?? false;
    this.#options = options;
    if (this.local) assertLocalSupported();
  }

  protected abstract remote(inputs: Encoded, route: RemoteRoute): Promise<Raw>;
  protected abstract runLocal(inputs: Encoded, pipeline: LocalPipeline): Promise<Raw>;

  override async setup(): Promise<void> {
    if (this.local) {
      if (!this.localTask) {
        throw new ConfigurationError(`${this.name}: transformers.js has no pipeline for this task; use it remotely`);
      }
      this.model ??= this.defaultLocalCheckpoint;
    }
    await super.setup();
    if (this.local) {
      this.#pipeline = await loadLocalPipeline(this.localTask!, this.model!, {
        ...this.#options.localOptions,
        ...(this.device ? { device: this.device } : {}),
      });
    }
  }

  override forward(inputs: Encoded, context: ToolContext): Promise<Raw> {
    if (this.#pipeline) return this.runLocal(inputs, this.#pipeline);
    return this.remote(inputs, this.#route(context));
  }

  #route(context: ToolContext): RemoteRoute {
    const { endpoint, provider, egress, fetch: transport } = this.#options;
    const model = this.model!;
    const base = (endpoint ?? (provider ? undefined : DEFAULT_INFERENCE_ENDPOINT))?.replace(/\/+$/, "");
    const guarded = (input: RequestInfo | URL, init?: RequestInit) =>
      guardedFetch(input instanceof Request ? input.url : String(input), init, egress, transport);
    return {
      args: {
        model,
        ...(this.token ? { accessToken: this.token } : {}),
        ...(base ? { endpointUrl: `${base}/models/${model}` } : { provider: provider as InferenceProviderOrPolicy }),
      },
      options: { fetch: guarded as typeof fetch, signal: context.signal, retry_on_error: false },
    };
  }
}
