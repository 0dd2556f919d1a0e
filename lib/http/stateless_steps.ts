import type { MultiStepAgent, StepOptions, StepResult } from "../agents/multi_step_agent.ts";
import type { Agent } from "../agents/step_types.ts";
import { type AgentState, isFinalStatus } from "../memory/agent_state.ts";
import { type AppContext, DEFAULT_MAX_BODY_BYTES } from "./app_context.ts";
import { HttpError } from "./http_errors.ts";
import { keepSharedBlobs } from "../runs/run_blobs.ts";

/**
 * Stateless steps and their replay semantics. With a store, every token steps once (`TokenLedger`): a replayed
 * token, on `/steps` or `/input`, is a 409 `token_replayed` and runs nothing. Without a store a token cannot be
 * known as used, so replaying it re-runs its step, tools included: agents with a tool that needs approval are
 * then refused stateless mode, unless the deployer opted in with `allowStatelessReplay`.
 */

/** Room left in a request body beside the token (the JSON around it, an approval's reason or an answer). */
const TOKEN_BODY_MARGIN = 16 * 1024;

/** The first tool needing approval in the agent or its managed agents, as `agent/tool`. */
function approvalGatedTool(agent: Agent): string | undefined {
  const own = [...agent.tools.values()].find((tool) => tool.needsApproval);
  if (own) return `${agent.name}/${own.name}`;
  for (const managed of agent.managedAgents.values()) {
    const found = approvalGatedTool(managed.agent);
    if (found) return found;
  }
  return undefined;
}

/** Refuses stateless mode where a replayed token could run an approved call again. */
export function assertStatelessAllowed(ctx: AppContext, name: string, agent: MultiStepAgent): void {
  if (ctx.ledger || ctx.options.allowStatelessReplay) return;
  const gated = approvalGatedTool(agent);
  if (!gated) return;
  throw new HttpError(
    403,
    "stateless_replay_unsafe",
    `Agent '${name}' has a tool that needs approval ('${gated}'), and this server has no store to remember used state tokens: a replayed token would run the approved call again. Use a KV-mode run on a server with a store, or have the deployer set allowStatelessReplay.`,
  );
}

/** Where a stateless step starts: the token the previous call returned, or a new run's state (its first step). */
export type StatelessSource = { token: string } | { start: AgentState };

/**
 * One stateless step (or input): opens the token, claims it where there is a store, runs, seals the next token. A
 * new run's first step has no token to open or claim: nothing is kept for it unless it succeeds and its token is
 * returned. `signal` (the client and the step's deadline, see lib/runs/step_deadline.ts) is checked before the claim
 * and before the model call; an abandoned step frees its claim, so the same token can step again. `operation` gets
 * the step options every stateless step runs with: the signal, the shared blobs, the metrics observer.
 */
export async function statelessStep(
  ctx: AppContext,
  name: string,
  agent: MultiStepAgent,
  source: StatelessSource,
  signal: AbortSignal,
  operation: (state: AgentState, options: StepOptions) => Promise<StepResult>,
): Promise<{ result: StepResult; token: string }> {
  const codec = ctx.requireTokens();
  assertStatelessAllowed(ctx, name, agent);
  const opened = "token" in source ? await codec.read(source.token, name) : undefined;
  const before = opened?.state ?? (source as { start: AgentState }).start;
  if (!opened) await assertStartFits(ctx, name, before);
  signal.throwIfAborted();
  const claim = opened && await ctx.ledger?.claim(opened);
  let result: StepResult;
  try {
    signal.throwIfAborted();
    const { tracerProvider } = ctx.options;
    result = await operation(before, {
      signal,
      blobs: ctx.runs?.blobs,
      modelObserver: ctx.metrics,
      tracerProvider,
    });
  } catch (error) {
    await claim?.free();
    throw signal.aborted ? signal.reason : error;
  }
  let next: string;
  try {
    // A step that cannot give its token (a store error keeping blobs, a cipher failure, too large) is not kept: the
    // token sent stays valid, so its claim is freed.
    next = await codec.seal(name, result.state, {
      blobsUntil: await keepBlobs(ctx, result.state, opened?.blobsUntil),
    });
    if (opened) assertTokenFits(ctx, next, "the step was not kept, so the token you sent is still valid");
    else assertTokenFits(ctx, next, "nothing was started", true);
  } catch (error) {
    await claim?.free();
    throw error;
  }
  await claim?.used();
  if (!opened) ctx.metrics?.runCreated(name, "stateless");
  const ended = result.state.status;
  if (ended !== before.status && isFinalStatus(ended)) {
    ctx.metrics?.runEnded(name, ended);
  }
  return { result, token: next };
}

/**
 * A new run's first step is refused before the model is asked (413 `task_too_large`, as `POST /runs` refuses it)
 * when the run's first token could not fit a request body. Sealing adds at most a third (base64url) and a few dozen
 * bytes to the UTF-8 JSON, at most 3 bytes per UTF-16 unit: a state well under that bound is not sealed to check.
 */
async function assertStartFits(ctx: AppContext, name: string, state: AgentState): Promise<void> {
  const room = (ctx.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES) - TOKEN_BODY_MARGIN;
  if (JSON.stringify(state).length * 4 + 1024 <= room) return;
  assertTokenFits(ctx, await ctx.requireTokens().seal(name, state), "nothing was started", true);
}

/**
 * Until when the blobs a new token's state refers to are kept (`blobsUntil` in the token), or undefined without a
 * store. Every blob a token refers to lives at least until its `blobsUntil`: a blob put during a step lives
 * `sharedBlobSeconds` from its put, and when the new token would outlive `blobsUntil` every blob it refers to is
 * rewritten first (lib/runs/run_lifecycle.ts). That happens about once per token lifetime; a token from before
 * `blobsUntil` (or a new run's first) has its blobs, older servers' included, rewritten with an expiry at once.
 */
export async function keepBlobs(ctx: AppContext, state: AgentState, blobsUntil?: number): Promise<number | undefined> {
  const runs = ctx.runs;
  if (!runs) return undefined;
  const now = Date.now();
  const { sharedBlobSeconds } = runs.lifecycle;
  if (blobsUntil !== undefined && now + ctx.requireTokens().ttlSeconds * 1000 <= blobsUntil) return blobsUntil;
  await keepSharedBlobs(runs.store, JSON.stringify(state), sharedBlobSeconds);
  return now + sharedBlobSeconds * 1000;
}

/**
 * A token must fit in a request body, or the client could never send it back and the run would end there: 507
 * `state_too_large` (413 `task_too_large` for a new run), and nothing is kept.
 */
export function assertTokenFits(ctx: AppContext, token: string, consequence: string, newRun = false): void {
  const maxBodyBytes = ctx.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (token.length + TOKEN_BODY_MARGIN <= maxBodyBytes) return;
  const [status, code] = newRun ? [413, "task_too_large"] as const : [507, "state_too_large"] as const;
  throw new HttpError(
    status,
    code,
    `The state token would be ${token.length} bytes, more than a request body may carry (${maxBodyBytes} bytes, ` +
      `${TOKEN_BODY_MARGIN} of them kept for the rest of the request): ${consequence}. Use a KV-mode run, or a ` +
      "server with a store, which keeps long texts out of tokens.",
  );
}
