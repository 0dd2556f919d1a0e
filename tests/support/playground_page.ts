import type { Page } from "playwright-core";

/** Where the browser tests save screenshots (git-ignored). */
export const SCREENSHOTS = new URL("../browser/screenshots/", import.meta.url).pathname;

/** The scripted model's view of a request: the task and how many observations (or errors) it has seen. */
export function taskAndProgress(messages: Array<{ role: string; content?: unknown }>) {
  const task = String(messages.find((m) => m.role === "user")?.content ?? "");
  const done = messages.filter((m) => /^(Observation|Error):/.test(String(m.content))).length;
  return { task, done };
}

/** Waits for the playground's status (`#status[data-status]`); the shown status and error explain a timeout. */
export async function statusIs(page: Page, status: string, timeout = 10_000) {
  try {
    await page.waitForSelector(`#status[data-status="${status}"]`, { state: "attached", timeout });
  } catch (error) {
    const [shown, problem] = [await page.textContent("#status"), await page.textContent("#error")];
    throw new Error(`status is not ${status}: '${shown}', error '${problem}'`, { cause: error });
  }
}

/** Opens the playground, types the key (kept in the tab) and loads the agents. */
export async function openPlayground(page: Page, base: string, key: string, agent: string) {
  await page.goto(`${base}/`);
  await page.fill("#key", key);
  await page.dispatchEvent("#key", "change");
  await page.click("#load");
  await page.waitForSelector(`#agent option[value="${agent}"]`, { state: "attached" });
}

/**
 * Records every text the live delta area shows from now on; `seenDeltas(page)` reads them. The texts are taken from
 * the mutation records (the text nodes added), not read from the area when the observer runs: a delta and the step
 * that clears it may arrive in one network chunk and be applied in one task, before the observer's callback.
 */
export async function watchDeltas(page: Page) {
  await page.evaluate(`(() => {
    const live = document.getElementById("live");
    const seen = globalThis.seenDeltas = [];
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === "characterData") seen.push(record.target.data);
        for (const node of record.addedNodes) seen.push(node.textContent);
      }
    }).observe(live, { childList: true, characterData: true, subtree: true });
  })()`);
}

export async function seenDeltas(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>("globalThis.seenDeltas");
}
