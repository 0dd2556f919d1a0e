import { z } from "zod";
import { tool } from "../../lib/mod.ts";

/** A tool named `slow` that answers "late" after `ms` (a step that outlives its deadline). */
export function slowTool(ms: number) {
  return tool({
    name: "slow",
    description: "Takes its time.",
    inputs: z.object({}),
    run: () => new Promise<string>((resolve) => setTimeout(() => resolve("late"), ms)),
  });
}
