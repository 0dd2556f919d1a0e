import * as z from "zod";
import { SmolstepError } from "../errors.ts";
import type { TokenUsage } from "../models/chat_message.ts";
import { type StepError, type StepRecord, stepRecordSchemas, type ToolCallRecord } from "./step_records.ts";

/**
 * The whole of a run between two steps, as plain JSON. Nothing else is kept in memory between invocations.
 *
 * Changelog (bump `STATE_VERSION` and add a line, plus a migration in `parseAgentState`, for every change of
 * shape that older readers could misread):
 * - 1: first version: task, steps, counters, status, token totals, additional args, executor variables.
 * - 2: statuses `cancelled` and `awaiting_input`; `pendingInput` (tool calls waiting for approval, or a question
 *   for the user). A v1 state is a valid v2 state without them, so reading v1 only bumps the number.
 * - 3: `subRun` (a managed agent's nested run, stepped one step per invocation until it answers) and the optional
 *   `stepNumber` of planning steps. Additive: v1 and v2 states read as v3 unchanged.
 * - 4: `observationsRef` on action steps (a long observation stored as a blob; `observations` holds a preview).
 *   Additive; bumped so that an older reader refuses these states instead of dropping the references.
 * - 5: the stored form keeps the task once: `packState` leaves `task` out when the last task record starts with
 *   it and writes its length as `taskChars`; `parseAgentState` restores it. Action steps may carry `storedFields`
 *   (long fields kept as blobs, see large_observations). Additive for readers; bumped so that an older reader
 *   refuses these states instead of failing on the missing `task` or dropping the references.
 * - 5 (no bump): status `expired`, for a KV run abandoned while active (lib/runs/run_lifecycle.ts). `RunService`
 *   computes it when it reads an idle run and never commits it, so stored states do not carry it and older
 *   readers are unaffected; it is in the schema so views, the typed client and tokens can name it.
 */
export const STATE_VERSION = 5;

/** Where a run is: `running` until it ends `succeeded`, `max_steps_error`, `failed`, `cancelled` or `expired`. */
export type RunStatus =
  | "running"
  | "succeeded"
  | "max_steps_error"
  | "failed"
  | "cancelled"
  | "awaiting_input"
  | "expired";

/** The statuses after which a run takes no more steps (all but `running` and `awaiting_input`). */
export function isFinalStatus(status: RunStatus): boolean {
  return status !== "running" && status !== "awaiting_input";
}

/** Tool calls of the last action step that need a human decision, or a question the agent asked the user. */
export type PendingInput =
  | { kind: "approval"; toolCalls: ToolCallRecord[] }
  | { kind: "question"; question: string; callId: string };

/** A managed agent's run nested in its manager's state, with the manager's further managed calls of that step. */
export interface SubRun {
  /** The managed agent's name, as the manager calls it. */
  agentName: string;
  /** The manager's tool-call id this run answers. */
  callId: string;
  state: AgentState;
  /** Managed calls of the same manager step still to run, in order. */
  queue: Array<{ callId: string; agentName: string; task: string; additionalArgs?: Record<string, unknown> }>;
  /** Reports of the managed calls of this step that already answered. */
  reports: Array<{ callId: string; agentName: string; text: string; answer: unknown }>;
}

/**
 * The zod schemas of agent states, built on first use by `agentStateSchemas()` (an agent run that does not resume a
 * stored state never validates one; building them at import costs resident memory for nothing).
 */
function buildAgentStateSchemas() {
  const { StepErrorSchema, StepRecordSchema, TokenUsageSchema, ToolCallRecordSchema } = stepRecordSchemas();

  const RunStatusSchema: z.ZodType<RunStatus> = z.enum([
    "running",
    "succeeded",
    "max_steps_error",
    "failed",
    "cancelled",
    "awaiting_input",
    /** A KV run nobody stepped for `idleRunTtlSeconds` while it was active; it takes no more steps. */
    "expired",
  ]);

  const PendingInputSchema: z.ZodType<PendingInput> = z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("approval"), toolCalls: z.array(ToolCallRecordSchema) }),
    z.object({ kind: z.literal("question"), question: z.string(), callId: z.string() }),
  ]);

  const SubRunSchema: z.ZodType<SubRun> = z.lazy(() =>
    z.object({
      agentName: z.string(),
      callId: z.string(),
      state: AgentStateSchema,
      queue: z.array(z.object({
        callId: z.string(),
        agentName: z.string(),
        task: z.string(),
        additionalArgs: z.record(z.string(), z.unknown()).optional(),
      })),
      reports: z.array(z.object({ callId: z.string(), agentName: z.string(), text: z.string(), answer: z.unknown() })),
    })
  );

  const AgentStateSchema: z.ZodType<AgentState> = z.object({
    version: z.literal(STATE_VERSION),
    /** Name of the agent definition that owns this run; a state is only ever stepped by that agent. */
    agentName: z.string(),
    /** The current task (the latest, when the run was continued with `reset: false`). */
    task: z.string(),
    status: RunStatusSchema,
    maxSteps: z.number().int().positive(),
    /** Action steps taken so far (planning and the max-steps answer are not counted). */
    stepNumber: z.number().int().nonnegative(),
    steps: z.array(StepRecordSchema),
    additionalArgs: z.record(z.string(), z.unknown()),
    finalAnswer: z.unknown().optional(),
    /** Why the run ended when it did not succeed. */
    error: StepErrorSchema.nullable(),
    /** Totals over all model calls; `null` while no backend reported usage. */
    tokenUsage: TokenUsageSchema.nullable(),
    /** Sandbox variables the CodeAgent persists between steps. */
    variables: z.record(z.string(), z.unknown()).optional(),
    /** Set while `status` is `awaiting_input`: what the run waits for before its last action step can finish. */
    pendingInput: PendingInputSchema.optional(),
    /** Set while a managed agent called by the last action step is running. */
    subRun: SubRunSchema.optional(),
    createdAt: z.number(),
    updatedAt: z.number(),
  });

  return { RunStatusSchema, PendingInputSchema, AgentStateSchema };
}

/** The agent state schemas: `RunStatusSchema`, `PendingInputSchema`, `AgentStateSchema`. */
export interface AgentStateSchemas {
  RunStatusSchema: z.ZodType<RunStatus>;
  PendingInputSchema: z.ZodType<PendingInput>;
  AgentStateSchema: z.ZodType<AgentState>;
}

let built: AgentStateSchemas | undefined;

/** The agent state schemas, built on the first call. */
export function agentStateSchemas(): AgentStateSchemas {
  return built ??= buildAgentStateSchemas();
}

/** See `AgentStateSchema` (written out because the schema is recursive through `subRun`). */
export interface AgentState {
  version: typeof STATE_VERSION;
  agentName: string;
  task: string;
  status: RunStatus;
  maxSteps: number;
  stepNumber: number;
  steps: StepRecord[];
  additionalArgs: Record<string, unknown>;
  finalAnswer?: unknown;
  error: StepError | null;
  tokenUsage: TokenUsage | null;
  variables?: Record<string, unknown>;
  pendingInput?: PendingInput;
  subRun?: SubRun;
  createdAt: number;
  updatedAt: number;
}

/** A state this server cannot read (newer than `STATE_VERSION`, or not a state at all). */
export class StateVersionError extends SmolstepError {
  override name = "StateVersionError";
  constructor(message: string) {
    super(message, { code: "invalid_state" });
  }
}

/** Brings an older state up to `STATE_VERSION`. */
function migrate(input: unknown): unknown {
  const state = input as { version?: unknown } | null;
  if (
    state && typeof state === "object" &&
    (state.version === 1 || state.version === 2 || state.version === 3 || state.version === 4)
  ) {
    return { ...state, version: STATE_VERSION };
  }
  return input;
}

/** Validates (and, for older versions, migrates) a state read from a store, a token or a request. */
export function parseAgentState(input: unknown): AgentState {
  const version = (input as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version > STATE_VERSION) {
    throw new StateVersionError(
      `State version ${version} is newer than this server understands (${STATE_VERSION}); upgrade smolstep.`,
    );
  }
  const result = agentStateSchemas().AgentStateSchema.safeParse(unpackState(migrate(input)));
  if (!result.success) {
    const first = result.error.issues[0];
    throw new StateVersionError(
      `Invalid agent state at '${first.path.join(".") || "(root)"}': ${first.message}`,
    );
  }
  return result.data;
}

/** A stored state as `packState` wrote it: the task may be left out, with the length to cut it back. */
type PackedState = Omit<AgentState, "task" | "subRun"> & {
  task?: string;
  taskChars?: number;
  subRun?: Omit<SubRun, "state"> & { state: PackedState };
};

/**
 * The state as it is stored: the task once. `state.task` is the task as given; the last task record holds it too
 * (followed by the additional arguments announced to the model). When that record starts with the task, `task`
 * is left out and `taskChars` says how much of the record to take back. The same for a managed agent's sub-run.
 */
export function packState(state: AgentState): PackedState {
  const { task, subRun, ...rest } = state;
  const packed: PackedState = { ...rest, ...(subRun ? { subRun: { ...subRun, state: packState(subRun.state) } } : {}) };
  const last = state.steps.findLast((step) => step.type === "task");
  if (last?.type === "task" && last.task.startsWith(task)) packed.taskChars = task.length;
  else packed.task = task;
  return packed;
}

/** Puts back what `packState` left out (anything else passes through unchanged, for the schema to judge). */
function unpackState(input: unknown): unknown {
  if (!input || typeof input !== "object") return input;
  const { taskChars, ...state } = input as Record<string, unknown>;
  if (typeof state.task !== "string" && typeof taskChars === "number" && Array.isArray(state.steps)) {
    const last = state.steps.findLast((step) => step?.type === "task");
    if (typeof last?.task === "string") state.task = last.task.slice(0, taskChars);
  }
  const subRun = state.subRun as { state?: unknown } | undefined;
  if (subRun && typeof subRun === "object") state.subRun = { ...subRun, state: unpackState(migrate(subRun.state)) };
  return state;
}
