/**
 * Memory shared by the host and one sandbox thread (a growable SharedArrayBuffer):
 * - a blocking answer slot: the thread asks by message, then waits until the host writes the answer. It lets a
 *   synchronous host-module function stay synchronous for the sandboxed code on another thread;
 * - the thread's status (inside a step or not) and the host's stop request. The host cannot always stop a busy
 *   thread (Deno's `Worker.terminate()` does not interrupt running code), so the thread's interrupt check reads
 *   the stop request, and the host reads the status to know when a stopped thread has really let go.
 * Layout: Int32 answer state, Int32 answer byte length, Int32 status, Int32 stop request, then the UTF-8 answer.
 */

/** No answer yet. */
const WAITING = 0;
/** The answer is in the buffer. */
export const ANSWERED = 1;
/** The host work is async: the answer arrives later, as a message. */
export const DEFERRED = 2;

const [ANSWER, LENGTH, STATUS, STOP] = [0, 1, 2, 3];
const HEADER_BYTES = 16;
const INITIAL_BYTES = 64 * 1024;

/** A growable channel; answers above `maxBytes` of UTF-8 are refused by the host. */
export function createThreadChannel(maxBytes: number): SharedArrayBuffer {
  const max = HEADER_BYTES + maxBytes;
  return new SharedArrayBuffer(Math.min(INITIAL_BYTES, max), { maxByteLength: max });
}

function header(channel: SharedArrayBuffer): Int32Array {
  return new Int32Array(channel, 0, HEADER_BYTES / 4);
}

/** Host side: writes the answer and wakes the waiting thread. False when the text does not fit. */
export function answerSync(channel: SharedArrayBuffer, state: typeof ANSWERED | typeof DEFERRED, text = ""): boolean {
  const bytes = new TextEncoder().encode(text);
  const needed = HEADER_BYTES + bytes.length;
  if (needed > channel.maxByteLength) return false;
  if (needed > channel.byteLength) channel.grow(needed);
  new Uint8Array(channel, HEADER_BYTES, bytes.length).set(bytes);
  const words = header(channel);
  words[LENGTH] = bytes.length;
  Atomics.store(words, ANSWER, state);
  Atomics.notify(words, ANSWER);
  return true;
}

/** Thread side: arms the channel before asking (call it, then post the request, then `awaitAnswer`). */
export function armAnswer(channel: SharedArrayBuffer): void {
  Atomics.store(header(channel), ANSWER, WAITING);
}

/** Thread side: blocks until the host answers. */
export function awaitAnswer(channel: SharedArrayBuffer): { state: number; text: string } {
  const words = header(channel);
  Atomics.wait(words, ANSWER, WAITING);
  const copy = new Uint8Array(words[LENGTH]);
  copy.set(new Uint8Array(channel, HEADER_BYTES, words[LENGTH]));
  return { state: Atomics.load(words, ANSWER), text: new TextDecoder().decode(copy) };
}

/** Thread side: a step starts (clearing any old stop request) or ends. */
export function markRunning(channel: SharedArrayBuffer, running: boolean): void {
  const words = header(channel);
  if (running) Atomics.store(words, STOP, 0);
  Atomics.store(words, STATUS, running ? 1 : 0);
}

/** True while the thread is inside a step. */
export function isRunning(channel: SharedArrayBuffer): boolean {
  return Atomics.load(header(channel), STATUS) === 1;
}

/** Host side: asks the thread to stop its step at its next interrupt check. */
export function requestStop(channel: SharedArrayBuffer): void {
  Atomics.store(header(channel), STOP, 1);
}

export function stopRequested(channel: SharedArrayBuffer): boolean {
  return Atomics.load(header(channel), STOP) === 1;
}
