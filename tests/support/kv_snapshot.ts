/**
 * Every entry of a Deno KV database as `key -> versionstamp + value bytes`: two equal snapshots mean nothing was
 * written in between (any write, even of the same value, changes the versionstamp).
 */
export async function kvSnapshot(kv: Deno.Kv): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for await (const entry of kv.list({ prefix: [] })) {
    const value = entry.value instanceof Uint8Array
      ? `bytes:${Array.from(entry.value).join(",")}`
      : `json:${JSON.stringify(entry.value)}`;
    entries.set(
      JSON.stringify(entry.key, (_, v) => typeof v === "bigint" ? `${v}n` : v),
      `${entry.versionstamp} ${value}`,
    );
  }
  return entries;
}
