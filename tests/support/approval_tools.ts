import { z } from "zod";
import { tool } from "../../lib/mod.ts";

/** A side-effecting tool that always needs approval; each path it "deletes" is pushed onto `deleted`. */
export function deleteFileTool(deleted: string[] = []) {
  return tool({
    name: "delete_file",
    description: "Deletes a file.",
    inputs: z.object({ path: z.string() }),
    needsApproval: true,
    run: ({ path }) => (deleted.push(path), `deleted ${path}`),
  });
}

/** A harmless tool that returns its text. */
export const echoTool = tool({
  name: "echo",
  description: "Echoes.",
  inputs: z.object({ text: z.string() }),
  run: ({ text }) => text,
});
