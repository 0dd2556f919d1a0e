/** Worker-thread entry of the isolated QuickJS executor (Node): serves steps for the host that started it. */

import { parentPort } from "node:worker_threads";
import { serveSandboxThread } from "../../executors/sandbox_thread_main.ts";
import type { HostMessage } from "../../executors/sandbox_thread_protocol.ts";

const port = parentPort!;
serveSandboxThread({
  postMessage: (message) => port.postMessage(message),
  onMessage: (listener) => port.on("message", (message: HostMessage) => listener(message)),
});
