/** A run in this process: the model, the agent, the sandbox (closed at the end), then local_run.ts. */
import type { IsolatedQuickJSExecutor } from "../lib/executors/isolated_executor.ts";
import type { QuickJSExecutor } from "../lib/executors/quickjs_executor.ts";
import { createDenoQuickJSExecutor } from "../lib/adapters/deno/quickjs_wasm_deno.ts";
import { wholeNumber } from "../functions/server_options.ts";
import type { RunArguments } from "./arguments.ts";
import type { Display, RunEnd } from "./display/display.ts";
import { createLocalAgent } from "./local_agent.ts";
import { runLocal } from "./local_run.ts";
import { createCliModel } from "./model_factory.ts";
import type { Ask } from "./prompts.ts";

export async function runHere(
  args: RunArguments,
  env: Record<string, string | undefined>,
  session: { display: Display; ask: Ask; interrupt: AbortSignal },
): Promise<RunEnd> {
  let executor: IsolatedQuickJSExecutor | QuickJSExecutor | undefined;
  try {
    // A whole number or nothing, as the server reads it: "5000ms" is refused, not taken for the 30 s default.
    const timeLimitMs = wholeNumber(env, "SMOLSTEP_CODE_TIME_LIMIT_MS");
    const model = await createCliModel(args, env);
    const agent = createLocalAgent(args, {
      model,
      env,
      // Code steps run on worker threads without permissions, as in the Deno entry (SMOLSTEP_CODE_TIME_LIMIT_MS).
      executor: () =>
        executor ??= createDenoQuickJSExecutor({
          timeLimitMs,
          workerPermissions: "none",
        }),
    });
    const modelLabel = `${args.modelType} ${model.modelId ?? ""}`.trim();
    return await runLocal(agent, { ...session, task: args.task, maxSteps: args.maxSteps, modelLabel });
  } finally {
    if (executor && "close" in executor) executor.close();
  }
}
