/**
 * `smolstep maintenance sweep --kv-path <path> [--apply] [--limit N] [--max-pages N] [--cursor C]` (`sweep-blobs`,
 * its old name, is the same command): the grammar of the operator's commands on a Deno KV store (cli/maintenance.ts
 * runs them). Pure, like ./arguments.ts.
 */
import { InvalidInputError } from "../lib/errors.ts";

export interface MaintenanceArguments {
  command: "maintenance";
  action: "sweep";
  /** The Deno KV database the server uses (its SMOLSTEP_KV_PATH): a file, or a Deno Deploy KV URL. */
  kvPath: string;
  /** Write the expiries; without it, a dry run. */
  apply: boolean;
  /** Keys per page. */
  limit?: number;
  /** Stop after this many pages (resume with the printed cursor). */
  maxPages?: number;
  cursor?: string;
}

/** `sweep-blobs` is the old name of `sweep` (it swept only `blobs/`; it now sweeps every legacy prefix). */
const ACTIONS = ["sweep", "sweep-blobs"] as const;

/** Reads the words after `maintenance`; `env` gives SMOLSTEP_KV_PATH when there is no `--kv-path`. */
export function maintenanceArguments(
  words: readonly string[],
  env: Record<string, string | undefined> = {},
): MaintenanceArguments {
  const [action, ...rest] = words;
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new InvalidInputError(
      `maintenance needs one of: ${ACTIONS.join(", ")} (got '${(action ?? "").slice(0, 40)}').`,
    );
  }
  const values: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const [name, inline] = rest[i].includes("=") ? rest[i].split(/=(.*)/s, 2) : [rest[i], undefined];
    if (name === "--apply") {
      if (inline !== undefined) throw new InvalidInputError("--apply takes no value.");
      values.apply = true;
      continue;
    }
    if (!["--kv-path", "--limit", "--max-pages", "--cursor"].includes(name)) {
      throw new InvalidInputError(`Unknown option of maintenance ${action}: '${name.slice(0, 40)}'. See --help.`);
    }
    const value = inline ?? rest[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw new InvalidInputError(`${name} needs a value.`);
    }
    values[name.slice(2)] = value;
  }
  const kvPath = (values["kv-path"] as string | undefined) ?? env.SMOLSTEP_KV_PATH;
  if (!kvPath) {
    throw new InvalidInputError(
      "maintenance needs the server's Deno KV database: --kv-path <file or URL> (or SMOLSTEP_KV_PATH).",
    );
  }
  return {
    command: "maintenance",
    action: "sweep",
    kvPath,
    apply: values.apply === true,
    limit: wholeNumber("--limit", values.limit as string | undefined, 1_000),
    maxPages: wholeNumber("--max-pages", values["max-pages"] as string | undefined),
    cursor: values.cursor as string | undefined,
  };
}

function wholeNumber(name: string, raw: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max) {
    throw new InvalidInputError(`${name} must be a whole number from 1 to ${max} (got '${raw.slice(0, 40)}').`);
  }
  return value;
}
