/**
 * A run on a deployed smolstep, driven with the typed client (lib/client.ts): start a KV run, stream each step
 * (the model's deltas, then the step), answer pauses at the prompt through `/input`, cancel the run on Ctrl-C.
 */
import type { RunInput, RunStatus, SmolstepClient, StepView } from "../lib/client.ts";
import type { Display, RunEnd } from "./display/display.ts";
import { EXIT_CODES, exitCodeOf } from "./exit_codes.ts";
import { answerPending, type Ask } from "./prompts.ts";

export interface RemoteRunOptions {
  client: SmolstepClient;
  url: string;
  task: string;
  /** One of the server's agents; default its first. */
  agent?: string;
  maxSteps?: number;
  display: Display;
  ask: Ask;
  interrupt: AbortSignal;
}

export async function runRemote(options: RemoteRunOptions): Promise<RunEnd> {
  const { client, display, interrupt } = options;
  const startedAt = Date.now();
  const agents = (await client.listAgents(interrupt)).agents;
  const agent = options.agent ?? agents[0]?.name;
  const known = agents.find((entry) => entry.name === agent);
  if (!known) {
    const names = agents.map((entry) => entry.name).join(", ") || "none";
    const error = { type: "UnknownAgent", message: `The server has no agent '${agent}' (it has ${names}).` };
    return { status: "failed", output: null, error, tokenUsage: null, durationMs: 0, exitCode: EXIT_CODES.usage };
  }
  const run = await client.startRun(known.name, { task: options.task, maxSteps: options.maxSteps });
  display.start({ task: options.task, agent: known.name, kind: known.kind, remote: options.url, runId: run.runId });
  let view: StepView = { ...run, step: null, pendingInput: run.pendingInput ?? undefined, error: undefined };
  let input: RunInput | undefined;
  const end = (status: RunStatus, exitCode: number, interrupted = false): RunEnd => ({
    status,
    output: view.finalAnswer ?? null,
    error: view.error ?? null,
    tokenUsage: view.tokenUsage,
    durationMs: Date.now() - startedAt,
    exitCode,
    interrupted,
  });
  try {
    while (view.status === "running" || input) {
      display.working();
      for await (const event of client.streamStep(run.runId, { input, signal: interrupt })) {
        if (event.type === "delta") display.event(event);
        else view = event.response;
      }
      input = undefined;
      if (view.step) display.event({ type: "step", agent: view.stepAgent ?? known.name, step: view.step });
      if (view.status === "awaiting_input" && view.pendingInput) {
        display.event({ type: "awaiting_input", agent: known.name, pending: view.pendingInput });
        display.pause();
        const answer = await answerPending(view.pendingInput, options.ask);
        if (answer === null) {
          display.notice("The input closed before an answer: the run is cancelled.");
          const cancelled = await client.cancel(run.runId);
          return end(cancelled.status, EXIT_CODES.cancelled);
        }
        input = answer;
      }
    }
  } catch (error) {
    if (!interrupt.aborted) throw error;
    display.notice(`Interrupted: cancelling run ${run.runId}.`);
    const cancelled = await client.cancel(run.runId).catch(() => undefined);
    return end(cancelled?.status ?? "cancelled", EXIT_CODES.interrupted, true);
  }
  if (view.status !== "awaiting_input") {
    display.event({ type: "final_answer", agent: known.name, status: view.status, output: view.finalAnswer ?? null });
  }
  return end(view.status, exitCodeOf(view.status));
}
