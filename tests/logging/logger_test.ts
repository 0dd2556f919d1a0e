import assert from "node:assert/strict";
import { loggerFromEnv } from "../../functions/server_options.ts";
import { ConfigurationError } from "../../lib/mod.ts";
import { createLogger, type LogRecord, parseLogLevel } from "../../lib/server.ts";

Deno.test("log levels: each level writes itself and what is more severe", () => {
  for (
    const [level, written] of [
      ["debug", ["debug", "info", "warn", "error"]],
      ["info", ["info", "warn", "error"]],
      ["warn", ["warn", "error"]],
      ["error", ["error"]],
      ["off", []],
    ] as const
  ) {
    const records: LogRecord[] = [];
    const logger = createLogger({ level, sink: (record) => records.push(record), now: () => 0 });
    for (const at of ["debug", "info", "warn", "error"] as const) logger[at]("event", { n: 1 });
    assert.deepEqual(records.map((r) => r.level), written, level);
    for (const record of records) {
      assert.deepEqual(record, { time: "1970-01-01T00:00:00.000Z", level: record.level, msg: "event", n: 1 });
    }
  }
});

Deno.test("a sink that throws does not fail the caller", () => {
  const logger = createLogger({
    sink: () => {
      throw new Error("disk full");
    },
  });
  logger.error("still fine");
});

Deno.test("SMOLSTEP_LOG_LEVEL: a level name in any case, info by default, anything else stops the start", () => {
  assert.equal(parseLogLevel(undefined), undefined);
  assert.equal(parseLogLevel(" WARN "), "warn");
  assert.equal(loggerFromEnv({}).level, "info");
  assert.equal(loggerFromEnv({ SMOLSTEP_LOG_LEVEL: "off" }).level, "off");
  for (const bad of ["verbose", "trace", "1"]) {
    assert.throws(() => loggerFromEnv({ SMOLSTEP_LOG_LEVEL: bad }), ConfigurationError, bad);
  }
});
