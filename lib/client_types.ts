/**
 * The typed client's shapes (lib/client.ts): its options, what each method sends and returns, and the
 * `SmolstepClient` interface. Types only, so the client's module graph stays one runtime module.
 */
import type { DeltaEvent } from "./agents/agent_events.ts";
import type { PendingInput, RunStatus } from "./memory/agent_state.ts";
import type { StepError, StepRecord, TokenUsageRecord } from "./memory/step_records.ts";
import type { TokenUsage } from "./models/chat_message.ts";
import type { Tool } from "./tools/tool.ts";

export type { DeltaEvent, PendingInput, RunStatus, StepError, StepRecord, TokenUsage, TokenUsageRecord };

export interface ClientOptions {
  /** Where the server is, e.g. "https://agents.example.com" (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`, for servers with `apiKeys`. */
  apiKey?: string;
  /** The fetch to call (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Retries of a step whose response was lost, and of an event stream that failed, in a row (default 3). */
  retries?: number;
  /** Delay before the first of those retries, doubling after each (default 250 ms). */
  retryDelayMs?: number;
}

/** A tool as `listAgents()` describes it; `parameters` is its inputs as a JSON Schema. */
export type ToolInfo = Pick<Tool, "name" | "description" | "inputs" | "outputType" | "parameters"> & {
  needsApproval?: true;
  /** Set when the tool refuses direct calls (`POST /v1/tools/{name}`). */
  directCalls?: false;
};
export type AgentList = {
  agents: Array<
    { name: string; kind: string; description: string; maxSteps: number; webhook: boolean; tools: ToolInfo[] }
  >;
  modes: { kv: boolean; stateless: boolean; background: boolean };
};

/** The fields of every step and input response. */
export interface StepView {
  status: RunStatus;
  /** The agent that took the step (`manager/researcher` for a managed agent's step). */
  stepAgent?: string;
  stepNumber: number;
  maxSteps: number;
  /** The action (or planning) record; null when the call only applied a pending cancellation. */
  step: StepRecord | null;
  /** Present once the run has ended (null when it ended without an answer). */
  finalAnswer?: unknown;
  error?: StepError;
  /** Present while the run is `awaiting_input`. */
  pendingInput?: PendingInput;
  tokenUsage: TokenUsage | null;
}
export type RunStepView = StepView & { runId: string };
/** `replayed`: the idempotency key matched a step already taken, so nothing ran and that step came back. */
export type StepResponse = RunStepView & { replayed: boolean };

/**
 * A stored run; `createdAt`, `updatedAt` and `expiresAt` are ISO 8601. `expiresAt` is when the server may drop the run
 * (its run TTL after it ended, or after it was last stepped plus the idle TTL while it is active).
 */
export type RunView = Omit<StepView, "step" | "finalAnswer" | "error" | "pendingInput"> & {
  runId: string;
  agent: string;
  task: string;
  steps: StepRecord[];
  finalAnswer: unknown;
  error: StepError | null;
  pendingInput: PendingInput | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  background: boolean;
};
/**
 * `cancelled` is false while a step is in flight: the run ends right after it. A run that ended otherwise is refused
 * (`SmolstepClientError` with code `run_finished`).
 */
export type CancelResult = { runId: string; status: RunStatus; cancelled: boolean };

/** `images` are https: or data:image/ URLs. */
export type RunOptions = {
  task: string;
  maxSteps?: number;
  additionalArgs?: Record<string, unknown>;
  images?: string[];
};
/** `background`: the server steps the run on its queue (follow it with `events()`) and POSTs it to `callbackUrl`. */
export type StartRunOptions = RunOptions & { background?: boolean; callbackUrl?: string };
/** `state` is the signed token that carries a stateless run from call to call. */
export type StatelessRun = { agent: string; status: RunStatus; state: string };
export type StatelessStep = StepView & { agent: string; state: string };

export type StepOptions = { idempotencyKey?: string; signal?: AbortSignal };
export type RunToEndOptions = { onStep?: (result: StepResponse) => void | Promise<void>; signal?: AbortSignal };
/**
 * `lastEventId`: start after this record index (what a step event's `id` says). `deltas`: also yield the model's
 * deltas of the background step in flight (off by default).
 */
export type EventsOptions = { lastEventId?: number | string; signal?: AbortSignal; deltas?: boolean };

/**
 * `streamStep`'s target: a KV run's id, a stateless run's agent and token, or an agent and a new run's task (its
 * first step, taken by `POST /v1/agents/{name}/runs` with `firstStep`; KV unless `stateless`). `input` answers a run waiting for it
 * (the `/input` route) instead of stepping it; `idempotencyKey` is for KV steps only.
 */
export type StreamStepTarget =
  | string
  | { agent: string; state: string }
  | { agent: string; start: RunOptions & { stateless?: boolean } };
export type StreamStepOptions = StepOptions & { input?: RunInput };
/** What `streamStep` yields: the model's deltas while the step runs, then the step's response (its last item). */
export type StreamStepEvent =
  | DeltaEvent
  | { type: "step"; response: StepResponse | RunStepView | StatelessStep };

/** Approve or reject the pending tool calls, or answer the agent's question. */
export type RunInput = { approve: boolean; reason?: string } | { answer: string };

/**
 * What `events()` yields. A `step`'s id is the record's index in the run's `steps`. `delta`s (with `deltas: true`)
 * are the model's deltas of a background step in flight, where the server hears them (never replayed).
 */
export type RunEvent =
  | DeltaEvent
  | { type: "step"; id: number; step: StepRecord }
  | { type: "awaiting_input"; pendingInput: PendingInput | null }
  | { type: "end"; status: RunStatus; finalAnswer: unknown; error: StepError | null };

/** A client for one server (`createClient`); each method's details are at its definition below. */
export interface SmolstepClient {
  listAgents(signal?: AbortSignal): Promise<AgentList>;
  /**
   * Creates a KV-mode run. With `background: true` the server steps it; follow it with `events()`. With
   * `firstStep: true` the answer is the run's first step (one request fewer; not retried: a retry is another run).
   */
  startRun(agent: string, body: RunOptions & { firstStep: true }): Promise<RunStepView>;
  startRun(agent: string, body: StartRunOptions): Promise<RunView>;
  getRun(runId: string, signal?: AbortSignal): Promise<RunView>;
  /** Asks the run to stop: at once when idle, right after the step in flight otherwise. */
  cancel(runId: string): Promise<CancelResult>;
  /** Deletes a run with its blobs. Not retried. */
  deleteRun(runId: string): Promise<void>;
  /** The bytes of a blob the run refers to, by its ref (`blob:sha256:<hex>...`) or digest; `type` as served. */
  getBlob(runId: string, ref: string, signal?: AbortSignal): Promise<Blob>;
  /** Answers a run in `awaiting_input`. Not retried. */
  submitInput(runId: string, input: RunInput): Promise<RunStepView>;
  /** Runs exactly one step, retrying a lost response with the same `Idempotency-Key`. */
  step(runId: string, options?: StepOptions): Promise<StepResponse>;
  /** Steps the run until it is no longer `running`, and returns the run. */
  runToEnd(runId: string, options?: RunToEndOptions): Promise<RunView>;
  /** Follows a run's Server-Sent Events until its `end` event, reconnecting with `Last-Event-ID`. */
  events(runId: string, options?: EventsOptions): AsyncGenerator<RunEvent, void, undefined>;
  /** One step (or input) as Server-Sent Events: yields the model's deltas, then the step's response. */
  streamStep(
    target: StreamStepTarget,
    options?: StreamStepOptions,
  ): AsyncGenerator<StreamStepEvent, StepResponse | RunStepView | StatelessStep, undefined>;
  /** Stateless mode: nothing is stored; the returned token is the run. */
  startStatelessRun(agent: string, body: RunOptions & { firstStep: true }): Promise<StatelessStep>;
  startStatelessRun(agent: string, body: RunOptions): Promise<StatelessRun>;
  statelessStep(agent: string, token: string, signal?: AbortSignal): Promise<StatelessStep>;
  statelessInput(agent: string, token: string, input: RunInput): Promise<StatelessStep>;
}
