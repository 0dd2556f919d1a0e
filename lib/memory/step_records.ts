import * as z from "zod";
import type { TokenUsage } from "../models/chat_message.ts";

/**
 * The zod schemas of step records, built on first use by `stepRecordSchemas()`: an agent run in a script never
 * validates a record, and building them at import cost about 2 MiB of resident memory (zod compiles its builders).
 */
function buildStepRecordSchemas() {
  /** Token counts of one model call (`TokenUsage`); `null` where the backend reported none. */
  const TokenUsageSchema: z.ZodType<TokenUsage> = z.object({ inputTokens: z.number(), outputTokens: z.number() });

  /** Wall-clock times in epoch milliseconds. */
  const TimingSchema = z.object({ startTime: z.number(), endTime: z.number(), durationMs: z.number() });

  const StepErrorSchema = z.object({ type: z.string(), message: z.string() });

  const ToolCallRecordSchema = z.object({
    id: z.string(),
    name: z.string(),
    arguments: z.unknown(),
  });

  /** The task the run was given (a run continued with `reset: false` holds several). */
  const TaskStepSchema = z.object({
    type: z.literal("task"),
    task: z.string(),
    images: z.array(z.string()).optional(),
  });

  /** A plan written by the model (issue: planning). Not counted as an action step. */
  const PlanningStepSchema = z.object({
    type: z.literal("planning"),
    /** The action step this plan precedes. */
    stepNumber: z.number().int().optional(),
    plan: z.string(),
    modelOutput: z.string(),
    timing: TimingSchema,
    tokenUsage: TokenUsageSchema.nullable(),
  });

  /** One think-act-observe cycle. `error` is fed back to the model on the next step. */
  const ActionStepSchema = z.object({
    type: z.literal("action"),
    stepNumber: z.number().int(),
    modelOutput: z.string().nullable(),
    toolCalls: z.array(ToolCallRecordSchema),
    /** Code the CodeAgent ran, when it is one. */
    code: z.string().optional(),
    observations: z.string().nullable(),
    /** Set when the observation was too long to keep inline: `observations` is then a preview (see large_observations). */
    observationsRef: z.string().optional(),
    /**
     * Other fields too long to keep inline (`modelOutput`, `code`, `toolCalls.<i>.arguments`) -> the blob ref of the
     * full value; the field then holds a preview (see large_observations).
     */
    storedFields: z.record(z.string(), z.string()).optional(),
    error: StepErrorSchema.nullable(),
    actionOutput: z.unknown().optional(),
    isFinalAnswer: z.boolean(),
    timing: TimingSchema,
    tokenUsage: TokenUsageSchema.nullable(),
  });

  /** Appended, after its action step, by the step that ends a run with an answer (as in smolagents' memory). */
  const FinalAnswerStepSchema = z.object({
    type: z.literal("final_answer"),
    output: z.unknown(),
  });

  const StepRecordSchema = z.discriminatedUnion("type", [
    TaskStepSchema,
    PlanningStepSchema,
    ActionStepSchema,
    FinalAnswerStepSchema,
  ]);

  return {
    TokenUsageSchema,
    TimingSchema,
    StepErrorSchema,
    ToolCallRecordSchema,
    TaskStepSchema,
    PlanningStepSchema,
    ActionStepSchema,
    FinalAnswerStepSchema,
    StepRecordSchema,
  };
}

/** The step record schemas, built once on first use (validating states, the HTTP API's response schemas). */
export type StepRecordSchemas = ReturnType<typeof buildStepRecordSchemas>;

let built: StepRecordSchemas | undefined;

/** The step record schemas (`TokenUsageSchema`, `StepRecordSchema`...), built on the first call. */
export function stepRecordSchemas(): StepRecordSchemas {
  return built ??= buildStepRecordSchemas();
}

/** @deprecated The same type as `TokenUsage` (lib/models/chat_message.ts); kept for the typed client's users. */
export type TokenUsageRecord = TokenUsage;

// The record types are written out (rather than inferred from the schemas) so that the published API has explicit
// types; `Same` below fails to compile when a schema and its type drift apart.

/** Wall-clock times in epoch milliseconds. */
export interface Timing {
  startTime: number;
  endTime: number;
  durationMs: number;
}

/** An error recorded on a step (or why a run ended): the error class's name and its message. */
export interface StepError {
  type: string;
  message: string;
}

/** One tool call the model asked for. */
export interface ToolCallRecord {
  id: string;
  name: string;
  arguments: unknown;
}

/** The task the run was given (a run continued with `reset: false` holds several). */
export interface TaskStep {
  type: "task";
  task: string;
  images?: string[];
}

/** A plan written by the model. Not counted as an action step. */
export interface PlanningStep {
  type: "planning";
  /** The action step this plan precedes. */
  stepNumber?: number;
  plan: string;
  modelOutput: string;
  timing: Timing;
  tokenUsage: TokenUsage | null;
}

/** One think-act-observe cycle. `error` is fed back to the model on the next step. */
export interface ActionStep {
  type: "action";
  stepNumber: number;
  modelOutput: string | null;
  toolCalls: ToolCallRecord[];
  /** Code the CodeAgent ran, when it is one. */
  code?: string;
  observations: string | null;
  /** Set when the observation was too long to keep inline: `observations` is then a preview. */
  observationsRef?: string;
  /** Other fields too long to keep inline (`modelOutput`, `code`, `toolCalls.<i>.arguments`) -> blob ref. */
  storedFields?: Record<string, string>;
  error: StepError | null;
  actionOutput?: unknown;
  isFinalAnswer: boolean;
  timing: Timing;
  tokenUsage: TokenUsage | null;
}

/** Appended, after its action step, by the step that ends a run with an answer (as in smolagents' memory). */
export interface FinalAnswerStep {
  type: "final_answer";
  output: unknown;
}

export type StepRecord = TaskStep | PlanningStep | ActionStep | FinalAnswerStep;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const inSync: [
  Same<Timing, z.infer<StepRecordSchemas["TimingSchema"]>>,
  Same<StepError, z.infer<StepRecordSchemas["StepErrorSchema"]>>,
  Same<ToolCallRecord, z.infer<StepRecordSchemas["ToolCallRecordSchema"]>>,
  Same<TaskStep, z.infer<StepRecordSchemas["TaskStepSchema"]>>,
  Same<PlanningStep, z.infer<StepRecordSchemas["PlanningStepSchema"]>>,
  Same<ActionStep, z.infer<StepRecordSchemas["ActionStepSchema"]>>,
  Same<FinalAnswerStep, z.infer<StepRecordSchemas["FinalAnswerStepSchema"]>>,
  Same<StepRecord, z.infer<StepRecordSchemas["StepRecordSchema"]>>,
] = [true, true, true, true, true, true, true, true];
void inSync;

export function timingSince(startTime: number, now: () => number = Date.now): Timing {
  const endTime = now();
  return { startTime, endTime, durationMs: endTime - startTime };
}
