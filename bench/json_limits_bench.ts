/**
 * What the JSON caps cost on top of `JSON.parse`: the scan of `parseJsonWithin` (depth and entry count) over a
 * request body near the 1 MiB limit, and over a typical small one.
 *
 *   deno bench -A bench/json_limits_bench.ts
 */
import { parseJsonWithin } from "../lib/json_limits.ts";

const large = JSON.stringify({
  task: "Summarise these records.",
  additionalArgs: {
    records: Array.from({ length: 12_000 }, (_, i) => ({ id: i, name: `record ${i}`, tags: ["a", "b"], score: i / 7 })),
  },
});
const small = JSON.stringify({ task: "What is 2 + 2?", additionalArgs: { user: { id: 42, locale: "en" } } });
if (large.length < 850_000 || large.length > 1_048_576) throw new Error(`large body is ${large.length} bytes`);

Deno.bench("JSON.parse, ~0.9 MB body", { group: "large", baseline: true }, () => {
  JSON.parse(large);
});
Deno.bench("parseJsonWithin, ~0.9 MB body", { group: "large" }, () => {
  parseJsonWithin(large);
});
Deno.bench("JSON.parse, small body", { group: "small", baseline: true }, () => {
  JSON.parse(small);
});
Deno.bench("parseJsonWithin, small body", { group: "small" }, () => {
  parseJsonWithin(small);
});
