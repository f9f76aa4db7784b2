import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); SLUICE_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

/**
 * Whether the browser tests can run. Outside CI a missing Chromium skips them with a message that
 * says how to install it; under CI (CI=true) it is an error, since skipping would prove nothing.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium is not installed at ${CHROMIUM}: the browser tests are skipped. Install it with \`apt-get install -y chromium\` (or set SLUICE_CHROMIUM).`;
  if (process.env.CI === 'true') throw new Error(`${message} CI=true requires them.`);
  console.warn(message);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** Screenshots go to test-output/ui/<suite>/NN-<name>.png, numbered in the order taken. */
export function screenshotter(suite: string) {
  const dir = join(import.meta.dirname, '..', '..', 'test-output', 'ui', suite);
  mkdirSync(dir, { recursive: true });
  let count = 0;
  return async (page: Page, name: string) => {
    count++;
    await page.screenshot({
      path: join(dir, `${String(count).padStart(2, '0')}-${name}.png`),
      fullPage: true,
    });
  };
}

/** Signs in with a token through the sign-in form. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
