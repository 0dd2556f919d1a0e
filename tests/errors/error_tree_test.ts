import assert from "node:assert/strict";
import { SmolstepError } from "../../lib/errors.ts";
import { classifyError, ERROR_STATUS } from "../../lib/http/http_errors.ts";
import type { RunErrorCode } from "../../lib/runs/run_record.ts";
import type { StateTokenErrorCode } from "../../lib/runs/state_token.ts";

type ErrorClass = new (...args: never[]) => Error;

const LIB = new URL("../../lib/", import.meta.url);

/** Every class exported from a module of lib/ whose prototype chain reaches `Error`, with the module it is in. */
async function exportedErrorClasses(): Promise<Map<string, { cls: ErrorClass; file: string }>> {
  const found = new Map<string, { cls: ErrorClass; file: string }>();
  const walk = async (dir: URL): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts") && /^export class \w+ extends /m.test(await Deno.readTextFile(url))) {
        for (const [name, value] of Object.entries(await import(url.href))) {
          if (typeof value === "function" && value.prototype instanceof Error) {
            found.set(name, { cls: value as ErrorClass, file: url.href.slice(LIB.href.length) });
          }
        }
      }
    }
  };
  await walk(LIB);
  return found;
}

/** One instance of each error class, made as lib/ makes it. A new error class needs a line here. */
const SAMPLES: Record<string, (cls: ErrorClass) => Error> = {
  SmolstepError: (C) => new (C as typeof SmolstepError)("x", { code: "some_code" }),
  AgentError: one,
  AgentParsingError: one,
  AgentToolCallError: one,
  AgentToolExecutionError: one,
  AgentExecutionError: one,
  AgentMaxStepsError: one,
  AgentGenerationError: one,
  ModelError: one,
  ConfigurationError: one,
  InvalidInputError: one,
  StepRefusedError: one,
  StateVersionError: one,
  StepTimeoutError: (C) => new (C as new (ms: number) => Error)(100),
  ShuttingDownError: (C) => new (C as new () => Error)(),
  ToolTimeoutError: (C) => new (C as new (tool: string, ms: number) => Error)("t", 100),
  BodyTooLargeError: (C) => new (C as new (size: number, max: number) => Error)(2, 1),
  WebRequestError: (C) => new (C as new (status: number, text: string, url: string) => Error)(404, "Not Found", "x"),
  EgressError: (C) => new (C as new (url: string, reason: string) => Error)("http://x", "private"),
  RunError: (C) => new (C as new (code: string, message: string) => Error)("run_not_found", "x"),
  StateTokenError: (C) => new (C as new (code: string, message: string) => Error)("invalid_token", "x"),
  JsonLimitError: (C) => new (C as new (code: string, message: string) => Error)("json_too_deep", "x"),
  WebhookVerificationError: (C) => new (C as new (code: string, message: string) => Error)("stale_timestamp", "x"),
  BlobError: (C) => new (C as new (code: string, message: string) => Error)("not_found", "x"),
  StoreLimitError: (C) =>
    new (C as new (kind: string, b: number, l: number, m: string) => Error)("store_full", 2, 1, "x"),
  KeyListingError: (C) => new (C as new (code: string, message: string) => Error)("unsupported", "x"),
  GradioError: one,
  HttpFailure: (C) => new (C as new (response: Response) => Error)(new Response("x", { status: 503 })),
  ToolModuleError: one,
  HubError: (C) => new (C as new (message: string, status: number) => Error)("x", 502),
  HttpError: (C) => new (C as new (status: number, code: string, message: string) => Error)(418, "teapot", "x"),
  OpenAiParamError: (C) =>
    new (C as new (status: number, code: string, message: string, param: string | null) => Error)(400, "c", "x", "n"),
};

function one(cls: ErrorClass): Error {
  return new (cls as new (message: string) => Error)("x");
}

/**
 * The one exception: the typed client imports nothing from lib/ at run time (a browser bundle of it must stay
 * free of hono, zod and openai; tests/client_test.ts), so its error has `code` and `retryable` but its own root.
 */
const OWN_ROOT = new Set(["SmolstepClientError"]);

Deno.test("one error tree: every exported error class in lib/ descends from SmolstepError", async (t) => {
  const classes = await exportedErrorClasses();
  assert.ok(classes.size >= 25, `only ${classes.size} error classes found`);

  for (const [name, { cls, file }] of classes) {
    await t.step(`${name} (lib/${file})`, () => {
      const sample = SAMPLES[name];
      if (OWN_ROOT.has(name)) {
        const error = new (cls as new (status: number, code: string, message: string) => Error)(503, "overloaded", "x");
        assert.equal((error as unknown as { code: string }).code, "overloaded");
        assert.equal((error as unknown as { retryable: boolean }).retryable, true);
        return;
      }
      assert.ok(sample, `add ${name} to SAMPLES`);
      assert.ok(
        cls.prototype instanceof SmolstepError || cls === (SmolstepError as unknown),
        `${name} is no SmolstepError`,
      );
      const error = sample(cls) as SmolstepError;
      assert.ok(error instanceof SmolstepError);
      assert.ok(error instanceof Error);
      assert.match(error.code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${name}.code is snake_case`);
      assert.equal(typeof error.retryable, "boolean");
      assert.equal(error.name, name, "name is the class name (stored step errors use it as their type)");
    });
  }
});

Deno.test("agent errors keep smolagents' names as their recorded type; codes are stable", async () => {
  const errors = await import("../../lib/errors.ts");
  const expected: Array<[string, string]> = [
    ["AgentError", "agent_error"],
    ["AgentParsingError", "parsing_error"],
    ["AgentToolCallError", "tool_call_error"],
    ["AgentToolExecutionError", "tool_execution_error"],
    ["AgentExecutionError", "execution_error"],
    ["AgentMaxStepsError", "max_steps_error"],
    ["AgentGenerationError", "model_error"],
  ];
  for (const [name, code] of expected) {
    const error = new (errors[name as keyof typeof errors] as typeof errors.AgentError)("went wrong");
    assert.deepEqual(error.toJSON(), { type: name, message: "went wrong" });
    assert.equal(JSON.stringify(error), JSON.stringify({ type: name, message: "went wrong" }));
    assert.equal(error.code, code);
    assert.equal(error.retryable, false);
  }
  assert.equal(new errors.AgentGenerationError("x", { retryable: true }).retryable, true);
  assert.equal(new errors.ModelError("x", { status: 503, retryable: true }).code, "model_error");
  assert.equal(new errors.ConfigurationError("x").code, "not_configured");
  assert.equal(new errors.InvalidInputError("x").code, "invalid_input");
});

Deno.test("HTTP: every code the server answers with has one status, from one table", async (t) => {
  const { RunError } = await import("../../lib/runs/run_record.ts");
  const { StateTokenError } = await import("../../lib/runs/state_token.ts");
  const { StateVersionError } = await import("../../lib/memory/agent_state.ts");
  const { StepRefusedError } = await import("../../lib/agents/multi_step_agent.ts");
  const { StepTimeoutError } = await import("../../lib/runs/step_deadline.ts");
  const { EgressError } = await import("../../lib/net/egress.ts");
  const { JsonLimitError } = await import("../../lib/json_limits.ts");
  const { WebhookVerificationError } = await import("../../lib/webhooks/webhook_scheme.ts");
  const { StoreLimitError } = await import("../../lib/stores/store_limit_error.ts");
  const errors = await import("../../lib/errors.ts");
  // The statuses the server answered with before the error tree (restated here so a change shows).
  /** `make(code)` for each `code status` pair of `pairs` ("run_not_found 404, run_finished 409"). */
  const byCode = (make: (code: string) => SmolstepError, pairs: string) =>
    pairs.split(", ").map((pair): [SmolstepError, number] => [make(pair.split(" ")[0]), Number(pair.split(" ")[1])]);
  const cases: Array<[SmolstepError, number]> = [
    ...byCode(
      (code) => new RunError(code as RunErrorCode, "x"),
      "run_not_found 404, run_finished 409, step_in_progress 409, step_lost 409, not_awaiting_input 409, " +
        "task_too_large 413, state_too_large 507, store_full 507",
    ),
    ...byCode(
      (code) => new StateTokenError(code as StateTokenErrorCode, "x"),
      "invalid_token 400, token_expired 410, token_agent_mismatch 400, token_replayed 409",
    ),
    ...byCode(
      (code) => new WebhookVerificationError(code, "x"),
      "missing_signature 401, invalid_signature 401, stale_timestamp 401, missing_timestamp 400, " +
        "missing_delivery_id 400, invalid_signature_header 400",
    ),
    // A store that fills up outside a run's own writes (a token ledger entry, a delivery claim) answers the same.
    [new StoreLimitError("store_full", 2, 1, "x"), 507],
    [new StateVersionError("x"), 400],
    [new StepRefusedError("x"), 409],
    // A stateless run refused as a KV run is: the same codes, the same status.
    [new StepRefusedError("x", "run_finished"), 409],
    [new StepRefusedError("x", "not_awaiting_input"), 409],
    [new errors.InvalidInputError("x"), 400],
    [new errors.ConfigurationError("x"), 503],
    [new errors.AgentGenerationError("x"), 502],
    [new errors.ModelError("x"), 502],
    [new StepTimeoutError(5), 504],
    [new EgressError("http://10.0.0.1/", "private address"), 400],
    [new JsonLimitError("json_too_deep", "x"), 400],
  ];
  for (const [error, status] of cases) {
    await t.step(`${error.name} ${error.code} -> ${status}`, () => {
      assert.equal(ERROR_STATUS[error.code], status);
      const http = classifyError(error);
      assert.deepEqual([http.status, http.code, http.retryable], [status, error.code, error.retryable]);
      assert.ok(http.message.startsWith(error.message));
    });
  }
  await t.step("a SmolstepError whose code has no status is a 500 that shows nothing of it", () => {
    const http = classifyError(new SmolstepError("secret internals", { code: "no_such_code", retryable: true }));
    assert.deepEqual([http.status, http.code, http.message], [
      500,
      "internal_error",
      "Internal error while handling the request.",
    ]);
  });
});

Deno.test("HTTP: a model failure's hint and retryable follow the error's retryable", async () => {
  const { AgentGenerationError } = await import("../../lib/errors.ts");
  const retryable = classifyError(new AgentGenerationError("rate limited.", { retryable: true }));
  assert.deepEqual([retryable.status, retryable.code, retryable.retryable], [502, "model_error", true]);
  assert.equal(retryable.message, "rate limited. The run was not changed; the step can be retried.");
  const fatal = classifyError(new AgentGenerationError("bad credentials.", { retryable: false }));
  assert.deepEqual([fatal.status, fatal.code, fatal.retryable], [502, "model_error", false]);
  assert.equal(fatal.message, "bad credentials. The run was not changed.");
});
