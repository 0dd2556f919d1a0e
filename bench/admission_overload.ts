/**
 * Overload with and without admission control: `functions/deno.ts` (Deno KV on disk) against a scripted model that
 * answers in 50 ms, driven by closed-loop clients that give up after 2 s. Prints useful steps/s (200s received in
 * time), refusals and give-ups for each level, and how many runs were left locked at the end.
 *
 *   deno run -A --unstable-kv bench/admission_overload.ts [seconds per level, default 15]
 *
 * Levels: 50 clients (cap 100), 1,000 clients with the default cap (100), 1,000 clients without a cap.
 */
import { join } from "node:path";
import { startDenoEntry } from "../tests/support/deno_entry.ts";
import { type ReceivedRequest, startScriptedModelServer } from "../tests/support/scripted_model_server.ts";

const SECONDS = Number(Deno.args[0] ?? 15);
const CLIENT_TIMEOUT_MS = 2_000;

/** Calculator calls until the run's ninth step, then the answer: runs last ten steps. */
function reply(request: ReceivedRequest) {
  const observations = (request.body.messages ?? []).filter((m) => m.role === "tool").length;
  return observations < 9
    ? { delayMs: 50, toolCalls: [{ name: "calculator", arguments: { expression: `${observations} + 1` } }] }
    : { delayMs: 50, toolCalls: [{ name: "final_answer", arguments: { answer: "done" } }] };
}

interface Tally {
  useful: number;
  refused: number;
  gaveUp: number;
  busy: number;
  other: number;
  runs: Set<string>;
}

async function client(url: string, stopAt: number, tally: Tally) {
  let runId: string | undefined;
  while (Date.now() < stopAt) {
    try {
      if (!runId) {
        const created = await fetch(`${url}/v1/agents/assistant/runs`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ task: "Count." }),
          signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
        });
        const body = await created.json();
        if (created.status !== 201) {
          tally.other++;
          continue;
        }
        runId = body.runId as string;
        tally.runs.add(runId);
      }
      const response = await fetch(`${url}/v1/runs/${runId}/steps`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      const body = await response.json();
      if (response.status === 200) {
        tally.useful++;
        if (body.status !== "running") runId = undefined;
      } else if (response.status === 503) {
        tally.refused++;
        const wait = Number(response.headers.get("Retry-After") ?? 1) * 1000;
        await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random())));
      } else if (response.status === 409) {
        tally.busy++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      } else {
        tally.other++;
      }
    } catch {
      tally.gaveUp++; // the client's 2 s ran out; it retries the same run
    }
  }
}

async function level(name: string, clients: number, env: Record<string, string>) {
  const model = await startScriptedModelServer({ replies: reply });
  const dir = await Deno.makeTempDir({ prefix: "smolstep-overload-" });
  const server = await startDenoEntry({
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "k",
    SMOLSTEP_SECRET: "bench-secret-0123456789abcdef",
    SMOLSTEP_KV_PATH: join(dir, "kv.sqlite3"),
    ...env,
  });
  const tally: Tally = { useful: 0, refused: 0, gaveUp: 0, busy: 0, other: 0, runs: new Set() };
  const stopAt = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: clients }, () => client(server.url, stopAt, tally)));
  // Let abandoned steps finish or be cut, then count the runs still locked (a step in progress).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  let locked = 0;
  for (const runId of tally.runs) {
    const response = await fetch(`${server.url}/v1/runs/${runId}/steps`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": "probe-never-used" },
      body: "{}",
    }).catch(() => undefined);
    const body = await response?.json().catch(() => ({}));
    if (body?.error?.code === "step_in_progress") locked++;
  }
  await server.kill();
  await model.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const perSecond = (n: number) => (n / SECONDS).toFixed(1);
  console.log(
    `${name.padEnd(34)} useful ${perSecond(tally.useful).padStart(6)} steps/s | 503 ${perSecond(tally.refused)}/s | ` +
      `gave up ${perSecond(tally.gaveUp)}/s | 409 ${perSecond(tally.busy)}/s | other ${tally.other} | ` +
      `runs ${tally.runs.size}, locked after 3 s: ${locked}`,
  );
}

await level("50 clients, cap 100", 50, {});
await level("1000 clients (2 s), cap 100", 1000, {});
await level("1000 clients (2 s), no cap", 1000, { SMOLSTEP_MAX_STEPS_IN_FLIGHT: "1000000" });
