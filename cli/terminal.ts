/**
 * The process's side of the command line, on Deno: stdout and stderr, whether they are terminals, the environment,
 * lines read from stdin for prompts, and Ctrl-C. Everything else in cli/ takes a `Terminal`, so tests can hand it
 * another one.
 */
export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTerminal: boolean;
  readonly env: Record<string, string | undefined>;
  /** The next line of stdin, or null at its end. */
  readLine(): Promise<string | null>;
  /** Calls `handler` on each Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /** Ends the process at once. */
  exit(code: number): never;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(bytes: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length) bytes = bytes.subarray(file.writeSync(bytes));
}

export function denoTerminal(): Terminal {
  let lines: AsyncIterator<string> | undefined;
  return {
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    env: Deno.env.toObject(),
    async readLine() {
      lines ??= stdinLines();
      const next = await lines.next();
      return next.done ? null : next.value;
    },
    onInterrupt(handler) {
      Deno.addSignalListener("SIGINT", handler);
      return () => Deno.removeSignalListener("SIGINT", handler);
    },
    exit: (code) => Deno.exit(code),
  };
}

/** stdin as lines, read as they come (a prompt gets its answer before stdin ends). */
async function* stdinLines(): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      yield buffered.slice(0, end).replace(/\r$/, "");
      buffered = buffered.slice(end + 1);
    }
  }
  if (buffered) yield buffered;
}
