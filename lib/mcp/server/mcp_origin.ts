import type { Context } from "hono";
import type { AppOptions } from "../../http/app_context.ts";

/**
 * DNS-rebinding protection for `/mcp` (the MCP Streamable HTTP transport requires servers to validate `Origin`): a
 * request without `Origin` (a desktop or server-side host) passes; a browser's `Origin` passes only when the app's
 * `cors` option allows it (`true` or `"*"`: any; a string, a list, or Hono's origin function). The request's own
 * host is not trusted: after a DNS rebinding a hostile page is "same-origin" with the name it rebound.
 */
export async function originAllowed(c: Context, cors: AppOptions["cors"]): Promise<boolean> {
  const origin = c.req.header("Origin");
  if (origin === undefined) return true;
  if (!cors) return false;
  const allowed = cors === true ? "*" : cors.origin ?? "*";
  if (typeof allowed === "string") return allowed === "*" || allowed === origin;
  if (Array.isArray(allowed)) return allowed.includes(origin);
  const answer = await allowed(origin, c);
  return answer === "*" || answer === origin;
}
