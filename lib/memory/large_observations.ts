import type { BlobStorage } from "../stores/blob_store.ts";
import type { AgentState } from "./agent_state.ts";

/**
 * Large observations by reference: above a threshold, an observation's text is stored as a blob in the run's
 * store and the step record keeps a preview plus the reference (`observationsRef`), so states stay small (a
 * 100-step run with big observations fits comfortably in KV). Before the model is called, references are resolved
 * again (`hydrateObservations`), so what the model reads does not change.
 */

const PREVIEW_CHARS = 500;
const CACHE_LIMIT_CHARS = 16_000_000;
/** Blob contents are immutable (content-addressed), so resolved texts can be kept across steps. */
const cache = new Map<string, string>();
let cachedChars = 0;

export function previewOf(text: string, ref: string): string {
  return `${text.slice(0, PREVIEW_CHARS)}\n...[the full observation (${text.length} characters) is stored as ${ref}]`;
}

/** Stores `observations` when longer than `threshold` and returns the preview and reference, else null. */
export async function externalizeObservation(
  observations: string | null,
  blobs: BlobStorage | undefined,
  threshold: number,
): Promise<{ observations: string; observationsRef: string } | null> {
  if (!blobs || observations == null || observations.length <= threshold) return null;
  const ref = await blobs.put(observations, "text/plain");
  remember(ref, observations);
  return { observations: previewOf(observations, ref), observationsRef: ref };
}

/** A copy of the state whose referenced observations are in full again (for rendering; never stored). */
export async function hydrateObservations(state: AgentState, blobs: BlobStorage | undefined): Promise<AgentState> {
  if (!blobs || !state.steps.some((step) => step.type === "action" && step.observationsRef)) return state;
  const steps = await Promise.all(state.steps.map(async (step) => {
    if (step.type !== "action" || !step.observationsRef) return step;
    let text = cache.get(step.observationsRef);
    if (text === undefined) {
      text = await blobs.resolveText(step.observationsRef);
      remember(step.observationsRef, text);
    }
    return { ...step, observations: text };
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
 * blob as the observation when they are equal). Final answers are never replaced.
 */
export async function externalizeActionOutput(
  output: unknown,
  blobs: BlobStorage | undefined,
  threshold: number,
): Promise<unknown> {
  if (!blobs || output === undefined || output === null) return output;
  const text = typeof output === "string" ? output : JSON.stringify(output);
  if (text === undefined || text.length <= threshold) return output;
  const ref = await blobs.put(text, typeof output === "string" ? "text/plain" : "application/json");
  remember(ref, text);
  return ref;
}
