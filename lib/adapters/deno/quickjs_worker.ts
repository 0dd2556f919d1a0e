/** Web Worker entry of the isolated QuickJS executor (Deno): serves steps for the host that started it. */

import { serveSandboxThread } from "../../executors/sandbox_thread_main.ts";
import type { HostMessage, ThreadMessage } from "../../executors/sandbox_thread_protocol.ts";

const scope = self as unknown as {
  postMessage(message: ThreadMessage): void;
  onmessage: ((event: MessageEvent<HostMessage>) => void) | null;
};

serveSandboxThread({
  postMessage: (message) => scope.postMessage(message),
  onMessage: (listener) => scope.onmessage = (event) => listener(event.data),
});
