/**
 * smolstep's one logger: JSON lines, one object per event, through a sink the deployer can replace. Every log line
 * of the library goes through it (requests, unhandled errors, dropped queue messages, refused callbacks, metrics
 * set-up). Callers pass fields they chose, never raw requests, headers, URLs, bodies, state or error messages: so
 * no API key, bearer token, state token, webhook secret or model key can reach a line (tests/logging/).
 */

import { ConfigurationError, SmolstepError } from "../errors.ts";

/** From most to least verbose; `off` logs nothing. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "off"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** One line: when, how severe, what happened, and the event's own fields. */
export interface LogRecord {
  /** ISO 8601, UTC. */
  time: string;
  level: Exclude<LogLevel, "off">;
  msg: string;
  [field: string]: unknown;
}

/** Where records go. The default writes each as one line of JSON to the console. */
export type LogSink = (record: LogRecord) => void;

export interface Logger {
  /** The least severe level written. */
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, "off">): boolean;
  log(level: Exclude<LogLevel, "off">, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Default: {@link consoleJsonSink}. */
  sink?: LogSink;
  /** The clock, in epoch milliseconds (tests). */
  now?: () => number;
}

/** One JSON line per record, through the console method of its level (`console.info` for info). */
export const consoleJsonSink: LogSink = (record) => {
  const line = JSON.stringify(record);
  if (record.level === "error") console.error(line);
  else if (record.level === "warn") console.warn(line);
  else if (record.level === "info") console.info(line);
  else console.debug(line);
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const threshold = LOG_LEVELS.indexOf(level);
  const sink = options.sink ?? consoleJsonSink;
  const now = options.now ?? Date.now;
  const enabled = (at: Exclude<LogLevel, "off">) => LOG_LEVELS.indexOf(at) >= threshold;
  const log = (at: Exclude<LogLevel, "off">, msg: string, fields: Record<string, unknown> = {}) => {
    if (!enabled(at)) return;
    try {
      sink({ time: new Date(now()).toISOString(), level: at, msg, ...fields });
    } catch {
      // A failing sink must not fail the request it logs.
    }
  };
  return {
    level,
    enabled,
    log,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
  };
}

/** A level name (any case, spaces trimmed), or undefined when `value` is empty; anything else is a ConfigurationError. */
export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  const name = value?.trim().toLowerCase();
  if (!name) return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(name)) {
    throw new ConfigurationError(`The log level must be one of ${LOG_LEVELS.join(", ")} (got '${name.slice(0, 20)}').`);
  }
  return name as LogLevel;
}

/** What a log line says of an error: its class name and, for a smolstep error, its code. Never message or stack. */
export function errorFields(error: unknown): { type: string; code?: string } {
  const type = error instanceof Error ? error.name || "Error" : "_OTHER";
  return error instanceof SmolstepError ? { type, code: error.code } : { type };
}
