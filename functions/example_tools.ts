import * as z from "zod";
import { tool } from "../lib/mod.ts";

/** Tools for the example agents: useful, deterministic, and needing no network. */

export const currentTimeTool = tool({
  name: "current_time",
  description: "Returns the current date and time (ISO 8601 and a readable form) in an IANA time zone.",
  inputs: z.object({
    timezone: z.string().nullable().optional().describe("IANA time zone such as 'Europe/Paris'; default UTC"),
  }),
  output: "object",
  run: ({ timezone }) => {
    const zone = timezone ?? "UTC";
    const now = new Date();
    let readable: string;
    try {
      readable = new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeStyle: "long", timeZone: zone }).format(now);
    } catch {
      throw new Error(`Unknown time zone '${zone}'. Use an IANA name such as 'America/New_York'.`);
    }
    return { iso: now.toISOString(), timezone: zone, readable };
  },
});

export const textStatsTool = tool({
  name: "text_stats",
  description: "Counts the characters, words, lines and sentences of a text.",
  inputs: z.object({ text: z.string().describe("The text to measure") }),
  output: "object",
  run: ({ text }) => ({
    characters: [...text].length,
    words: text.split(/\s+/).filter(Boolean).length,
    lines: text === "" ? 0 : text.split("\n").length,
    sentences: (text.match(/[^.!?]+[.!?]+/g) ?? []).length,
  }),
});

export const reverseWordsTool = tool({
  name: "reverse_words",
  description: "Reverses the order of the words in a text.",
  inputs: z.object({ text: z.string().describe("The text whose words to reverse") }),
  output: "string",
  run: ({ text }) => text.split(/\s+/).filter(Boolean).reverse().join(" "),
});
