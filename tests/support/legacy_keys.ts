/**
 * Keys as servers from before the run lifecycle wrote them (no `expireIn`), for the legacy-expiry sweep's tests: a run
 * record in its old shape (no `seq`, no `blobsUntil`, the state not packed), a cancel flag (`String(Date.now())`), a
 * token ledger entry and a webhook delivery claim (the run id it started).
 */

import { ToolCallingAgent } from "../../lib/agents/tool_calling_agent.ts";
import type { AgentState } from "../../lib/memory/agent_state.ts";
import type { StateStore } from "../../lib/stores/state_store.ts";

/**
 * A run record as servers before the run lifecycle wrote it: the state at version 2 (statuses `cancelled` and
 * `awaiting_input`, before sub-runs, observation blobs and the packed task: a new run's state is a valid v2 state
 * with the number changed), not packed; no `seq`, no `blobsUntil`, idempotency entries without the agent.
 */
export function oldRunRecord(runId: string, state: AgentState): string {
  return JSON.stringify({ runId, agent: "reader", state: { ...state, version: 2 }, idempotency: [], lock: null });
}

/** A `reader` run's first state (no model call is made). */
export function readerState(task: string): AgentState {
  return new ToolCallingAgent({ name: "reader", model: () => ({ content: "unused" }), tools: [] }).start(task);
}

/**
 * A run that ended a day ago (`status`) with its cancel flag, a used token's ledger entry
 * (`tokens/tok_0123456789abcdef`) and the delivery claim that started the run (`hooks/reader/<hookDigest>`).
 */
export async function writeOldRun(store: StateStore, status: "succeeded" | "failed", hookDigest: string) {
  const runId = crypto.randomUUID();
  const state = { ...readerState("An old task."), status, updatedAt: Date.now() - 86_400_000 };
  await store.put(`runs/${runId}`, oldRunRecord(runId, state));
  await store.put(`runs/${runId}/cancel`, String(Date.now()));
  await store.put("tokens/tok_0123456789abcdef", JSON.stringify({ status: "used" }));
  await store.put(`hooks/reader/${hookDigest}`, runId);
  return runId;
}
