import { type BrowserContext, chromium } from "playwright-core";

/** Debian's chromium (.ci/run installs it), driven by playwright-core. */
export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
/** On CI a missing browser is a failure, not a skip: the browser tests must not vanish quietly. */
export const onCi = Deno.env.get("CI") === "true";

/** A headless Chromium with a throwaway profile; `close()` also removes the profile. */
export async function launchChromium(): Promise<BrowserContext> {
  const userDataDir = await Deno.makeTempDir({ prefix: "smolstep-chromium-" });
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
  });
  browser.setDefaultTimeout(20_000);
  browser.on("close", () => void Deno.remove(userDataDir, { recursive: true }).catch(() => {}));
  return browser;
}
