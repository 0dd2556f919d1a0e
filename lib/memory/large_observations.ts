import { clipMiddle, clipText } from "../text_clip.ts";
import type { BlobStorage } from "../stores/blob_store.ts";
import type { AgentState } from "./agent_state.ts";
import type { ActionStep, StepRecord } from "./step_records.ts";

/**
 * Large texts by reference: above a threshold (the agent's `largeObservationChars`, 4,000 by default), an
 * observation, a model reply, the code, a tool call's arguments, a step's output and a final answer are stored as
 * blobs in the run's store, and the step record keeps a preview plus the reference (`observationsRef`,
 * `storedFields`, or the ref itself for `actionOutput`), so each step adds a bounded amount to the run record (a
 * 100-step run with big observations fits comfortably in KV). Before the model is called, references are resolved
 * again (`hydrateObservations`), so what the model reads does not change.
 *
 * A text a blob cannot hold (over the blob store's `maxBytes`, 512 KiB by default, or a store that refuses it)
 * is cut to the threshold (head and tail) with a visible marker saying how much was removed; the model then reads
 * the cut text. Plans and error messages, never stored by reference, are cut at {@link TRUNCATED_CHARS}. The run's final answer is kept inline in `state.finalAnswer` up to
 * {@link MAX_INLINE_FINAL_ANSWER_CHARS} characters of JSON (the steps hold its ref); a longer one is cut to that
 * with a marker naming the ref of the full answer. Without a blob store (stateless mode) nothing is changed.
 */

const PREVIEW_CHARS = 500;
const CACHE_LIMIT_CHARS = 16_000_000;
/** Blob contents are immutable (content-addressed), so resolved texts can be kept across steps. */
const cache = new Map<string, string>();
let cachedChars = 0;

/** Length plans and error messages are cut to (they are never stored by reference). */
export const TRUNCATED_CHARS = 20_000;
/** Longest final answer (characters of JSON) kept in full in `state.finalAnswer`. */
export const MAX_INLINE_FINAL_ANSWER_CHARS = 100_000;

export function previewOf(text: string, ref: string, what = "observation"): string {
  return clipText(text, PREVIEW_CHARS, "") + `\n...[the full ${what} (${text.length} characters) is stored as ${ref}]`;
}

/** Head and tail of `text` with a visible marker in between saying what was cut (and where the full text is). */
export function truncateWithMarker(text: string, maxChars: number, ref?: string): string {
  return clipMiddle(text, maxChars, { note: ref && `the full text is stored as ${ref}` });
}

/** Stores `text` as a blob, or null when the blob store refuses it (too large, store full). */
async function tryStore(text: string, blobs: BlobStorage, mimeType: string): Promise<string | null> {
  try {
    const ref = await blobs.put(text, mimeType);
    remember(ref, text);
    return ref;
  } catch {
    return null;
  }
}

/**
 * The inline form of a long text: a preview and its ref, or, when no blob holds it, the text cut to `cutChars`
 * (the threshold, so a step's inline size stays bounded either way) with a marker.
 */
async function inlineForm(
  text: string,
  blobs: BlobStorage,
  mimeType: string,
  what: string,
  cutChars: number,
): Promise<{ inline: string; ref: string | null }> {
  const ref = await tryStore(text, blobs, mimeType);
  return ref ? { inline: previewOf(text, ref, what), ref } : { inline: truncateWithMarker(text, cutChars), ref };
}

/** Stores `observations` when longer than `threshold` and returns the preview and reference, else null. */
export async function externalizeObservation(
  observations: string | null,
  blobs: BlobStorage | undefined,
  threshold: number,
): Promise<{ observations: string; observationsRef?: string } | null> {
  if (!blobs || observations == null || observations.length <= threshold) return null;
  const { inline, ref } = await inlineForm(observations, blobs, "text/plain", "observation", threshold);
  return ref ? { observations: inline, observationsRef: ref } : { observations: inline };
}

/** The step fields `externalizeLongFields` may store, as `storedFields` keys. */
type LongFields = Pick<ActionStep, "modelOutput" | "code" | "toolCalls" | "storedFields">;

/**
 * Long `modelOutput`, `code` and tool-call arguments of a step go to blobs (a preview and `storedFields[field]` =
 * ref stay inline), or are cut with a marker when no blob can hold them. Returns a new value; `fields` is not
 * changed (without a blob store, or when nothing is long, `fields` itself is returned).
 */
export async function externalizeLongFields<T extends LongFields>(
  fields: T,
  blobs: BlobStorage | undefined,
  threshold: number,
): Promise<T> {
  if (!blobs) return fields;
  const stored: Record<string, string> = { ...fields.storedFields };
  let changed = false;
  const shrink = async <V>(field: string, value: V): Promise<V | string> => {
    if (value === undefined || value === null || stored[field] !== undefined) return value;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (text === undefined || text.length <= threshold) return value;
    const type = typeof value === "string" ? "text/plain" : "application/json";
    const { inline, ref } = await inlineForm(text, blobs, type, field, threshold);
    if (ref) stored[field] = ref;
    changed = true;
    return inline;
  };
  const modelOutput = await shrink("modelOutput", fields.modelOutput);
  const code = await shrink("code", fields.code);
  const toolCalls = [];
  for (const [i, call] of fields.toolCalls.entries()) {
    const args = await shrink(`toolCalls.${i}.arguments`, call.arguments);
    toolCalls.push(args === call.arguments ? call : { ...call, arguments: args });
  }
  if (!changed) return fields;
  return {
    ...fields,
    modelOutput,
    ...(code !== undefined ? { code } : {}),
    toolCalls,
    ...(Object.keys(stored).length > 0 ? { storedFields: stored } : {}),
  };
}

/**
 * Keeps a run's final answer from being stored three times in full (the action step's `actionOutput`, the
 * `final_answer` record and `state.finalAnswer`): when its JSON is longer than `threshold`, the two step copies
 * become its blob ref and `state.finalAnswer` keeps it in full up to {@link MAX_INLINE_FINAL_ANSWER_CHARS}
 * characters (else its text cut with a marker naming the ref). `step` is the action record in `state.steps`.
 */
export async function externalizeFinalAnswer<T extends { state: AgentState; step: StepRecord }>(
  result: T,
  blobs: BlobStorage | undefined,
  threshold: number,
): Promise<T> {
  const { state, step } = result;
  if (!blobs || step.type !== "action" || !step.isFinalAnswer || state.finalAnswer === undefined) return result;
  const answer = state.finalAnswer;
  const text = typeof answer === "string" ? answer : JSON.stringify(answer);
  if (text === undefined || text.length <= threshold) return result;
  const ref = await tryStore(text, blobs, typeof answer === "string" ? "text/plain" : "application/json");
  const short = ref ?? truncateWithMarker(text, threshold);
  const record: ActionStep = { ...step, actionOutput: short };
  const steps = state.steps.map((s) => s === step ? record : s.type === "final_answer" ? { ...s, output: short } : s);
  const finalAnswer = text.length <= MAX_INLINE_FINAL_ANSWER_CHARS
    ? answer
    : truncateWithMarker(text, MAX_INLINE_FINAL_ANSWER_CHARS, ref ?? undefined);
  return { ...result, state: { ...state, steps, finalAnswer }, step: record };
}

/** A copy of the state whose referenced observations and fields are in full again (for rendering; never stored). */
export async function hydrateObservations(state: AgentState, blobs: BlobStorage | undefined): Promise<AgentState> {
  const referenced = (step: StepRecord) => step.type === "action" && (step.observationsRef || step.storedFields);
  if (!blobs || !state.steps.some(referenced)) return state;
  const resolve = async (ref: string) => {
    let text = cache.get(ref);
    if (text === undefined) {
      text = await blobs.resolveText(ref);
      remember(ref, text);
    }
    return text;
  };
  const steps = await Promise.all(state.steps.map(async (step) => {
    if (step.type !== "action" || !referenced(step)) return step;
    const full: ActionStep = { ...step };
    if (step.observationsRef) full.observations = await resolve(step.observationsRef);
    const fields = step.storedFields ?? {};
    if (fields.modelOutput) full.modelOutput = await resolve(fields.modelOutput);
    if (fields.code) full.code = await resolve(fields.code);
    full.toolCalls = await Promise.all(step.toolCalls.map(async (call, i) => {
      const ref = fields[`toolCalls.${i}.arguments`];
      if (!ref) return call;
      const text = await resolve(ref);
      return { ...call, arguments: ref.endsWith(";type=application/json") ? JSON.parse(text) : text };
    }));
    return full;
  }));
  return { ...state, steps };
}

function remember(ref: string, text: string): void {
  if (text.length > CACHE_LIMIT_CHARS / 4) return;
  while (cachedChars + text.length > CACHE_LIMIT_CHARS && cache.size > 0) {
    const [oldest, value] = cache.entries().next().value!;
    cache.delete(oldest);
    cachedChars -= value.length;
  }
  if (!cache.has(ref)) {
    cache.set(ref, text);
    cachedChars += text.length;
  }
}

/**
 * A large `actionOutput` of a step that does not end the run becomes the reference of its stored text (the same
 * blob as the observation when they are equal), or its text cut with a marker. Final answers are handled by
 * `externalizeFinalAnswer` once the step is recorded (its checks and callbacks see the value in full).
 */
export async function externalizeActionOutput(
  output: unknown,
  blobs: BlobStorage | undefined,
  threshold: number,
): Promise<unknown> {
  if (!blobs || output === undefined || output === null) return output;
  const text = typeof output === "string" ? output : JSON.stringify(output);
  if (text === undefined || text.length <= threshold) return output;
  return await tryStore(text, blobs, typeof output === "string" ? "text/plain" : "application/json") ??
    truncateWithMarker(text, threshold);
}
