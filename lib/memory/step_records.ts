import { z } from "zod";
import type { TokenUsage } from "../models/chat_message.ts";

/** Token counts of one model call (`TokenUsage`); `null` where the backend reported none. */
export const TokenUsageSchema: z.ZodType<TokenUsage> = z.object({ inputTokens: z.number(), outputTokens: z.number() });

/** Wall-clock times in epoch milliseconds. */
export const TimingSchema = z.object({ startTime: z.number(), endTime: z.number(), durationMs: z.number() });

export const StepErrorSchema = z.object({ type: z.string(), message: z.string() });

export const ToolCallRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  arguments: z.unknown(),
});

/** The task the run was given (a run continued with `reset: false` holds several). */
export const TaskStepSchema = z.object({
  type: z.literal("task"),
  task: z.string(),
  images: z.array(z.string()).optional(),
});

/** A plan written by the model (issue: planning). Not counted as an action step. */
export const PlanningStepSchema = z.object({
  type: z.literal("planning"),
  /** The action step this plan precedes. */
  stepNumber: z.number().int().optional(),
  plan: z.string(),
  modelOutput: z.string(),
  timing: TimingSchema,
  tokenUsage: TokenUsageSchema.nullable(),
});

/** One think-act-observe cycle. `error` is fed back to the model on the next step. */
export const ActionStepSchema = z.object({
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
export const FinalAnswerStepSchema = z.object({
  type: z.literal("final_answer"),
  output: z.unknown(),
});

export const StepRecordSchema = z.discriminatedUnion("type", [
  TaskStepSchema,
  PlanningStepSchema,
  ActionStepSchema,
  FinalAnswerStepSchema,
]);

/** @deprecated The same type as `TokenUsage` (lib/models/chat_message.ts); kept for the typed client's users. */
export type TokenUsageRecord = TokenUsage;
export type Timing = z.infer<typeof TimingSchema>;
export type StepError = z.infer<typeof StepErrorSchema>;
export type ToolCallRecord = z.infer<typeof ToolCallRecordSchema>;
export type TaskStep = z.infer<typeof TaskStepSchema>;
export type PlanningStep = z.infer<typeof PlanningStepSchema>;
export type ActionStep = z.infer<typeof ActionStepSchema>;
export type FinalAnswerStep = z.infer<typeof FinalAnswerStepSchema>;
export type StepRecord = z.infer<typeof StepRecordSchema>;

export function timingSince(startTime: number): Timing {
  const endTime = Date.now();
  return { startTime, endTime, durationMs: endTime - startTime };
}
