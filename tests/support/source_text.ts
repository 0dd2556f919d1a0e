/** Source checks over lib/: comments stripped, files walked, and a check's own self-test. */
import assert from "node:assert/strict";

/** Source text without comments (string and template literals kept, so `"// x"` stays as it is). */
export function stripComments(source: string): string {
  return source.replace(
    /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (match, literal: string | undefined) => literal ?? match.replace(/[^\n]/g, " "),
  );
}

/** Every `.ts` file under `dir` (absolute paths), subfolders included. */
export async function* typeScriptFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir.replace(/\/$/, "")}/${entry.name}`;
    if (entry.isDirectory) yield* typeScriptFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** A check over one file's source: what it finds there, one string each. */
export type SourceCheck = (source: string) => string[];

/** The check can fail: it finds exactly one thing in each of `bad` and nothing in any of `good`. */
export function assertCheckWorks(check: SourceCheck, bad: string[], good: string[]): void {
  for (const source of bad) assert.equal(check(source).length, 1, source);
  for (const source of good) assert.deepEqual(check(source), [], source);
}

/**
 * `<file>: <finding>` for what `check` finds in the `.ts` files under `root`/`dir` (`file` relative to `root`),
 * except where `allowed(file, finding)` says so.
 */
export async function findingsUnder(
  root: string,
  dir: string,
  check: SourceCheck,
  allowed: (file: string, finding: string) => boolean = () => false,
): Promise<string[]> {
  const all: string[] = [];
  const base = root.replace(/\/$/, "");
  for await (const path of typeScriptFiles(`${base}/${dir}`)) {
    const file = path.slice(base.length + 1);
    for (const finding of check(await Deno.readTextFile(path))) {
      if (!allowed(file, finding)) all.push(`${file}: ${finding}`);
    }
  }
  return all;
}
