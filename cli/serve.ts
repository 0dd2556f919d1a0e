/** `serve`: the Deno entry (functions/deno.ts, as `deno task start`) on the port and host given. */
import type { ServeArguments } from "./arguments.ts";

export async function serve(args: ServeArguments): Promise<never> {
  if (args.port !== undefined) Deno.env.set("PORT", String(args.port));
  if (args.hostname !== undefined) Deno.env.set("HOSTNAME", args.hostname);
  await import("../functions/deno.ts");
  // The server keeps the process alive until it is stopped (Ctrl-C).
  return await new Promise<never>(() => {});
}
