import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium, screenshotter, signIn } from '../helpers/browser.js';
import { api, git, startTestServer, type TestServer, withToken } from '../helpers/test-server.js';

const SLOW_TAP = fileURLToPath(new URL('../fixtures/slow-tap/slow-tap', import.meta.url));

describe.skipIf(!chromiumAvailable())('errors and runs in a real browser', () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  let workspace: { id: string; name: string; repositoryUrl: string };
  const shot = screenshotter('errors-and-runs');

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    browser = await launchChromium();
    work = mkdtempSync(join(tmpdir(), 'sluice-ui-runs-'));
    workspace = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Runs (dev)' })).body;
    const clone = join(work, 'clone');
    expect((await git(work, ['clone', withToken(workspace.repositoryUrl, t.adminToken), clone])).code).toBe(
      0,
    );
    writeFileSync(
      join(clone, 'meltano.yml'),
      `version: 1
default_environment: dev
plugins:
  extractors:
  - name: slow-tap
    namespace: slow_tap
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    config: {count: 1000, delay: 0.05}
  loaders:
  - name: target-jsonl
    config: {destination_path: output}
environments:
- name: dev
- name: prod
`,
    );
    expect((await git(clone, ['commit', '-am', 'slow pipeline'])).code).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 420, height: 800 } });
  });

  it('refuses a wrong token with a message, and keeps the user on the sign-in form', async () => {
    await signIn(page, t.url, 'not-a-real-token');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toContain('This token was not accepted');
    expect(await page.getByLabel('Token').isVisible()).toBe(true);
    await shot(page, 'wrong-token');
  });

  it("shows the server's message for an active environment the project does not define, and changes nothing", async () => {
    await signIn(page, t.url, t.adminToken);
    await page.getByRole('button', { name: 'Select workspace' }).click();
    await page.getByRole('menuitem', { name: 'Runs (dev)' }).click();
    await page.getByRole('button', { name: 'Runs (dev)' }).click();
    await page.getByRole('menuitem', { name: 'Settings' }).click();
    await page.getByLabel('Active environment').fill('staging');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain("'staging'");
    expect(text).toContain('dev, prod');
    await shot(page, 'bad-environment');
    const stored = await api(t.url, t.adminToken, 'GET', `/workspaces/${workspace.id}`);
    expect(stored.body.activeEnvironment).toBe('dev');
  });

  it('starts a run, follows its live log, and cancels it', async () => {
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByLabel('Pipeline').fill('slow-tap target-jsonl');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const log = page.getByRole('log', { name: 'Run log' });
    await expect.poll(() => log.innerText(), { timeout: 20_000 }).toContain('slow-tap starting after id 0');
    await shot(page, 'run-live');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expect
      .poll(() => page.getByRole('heading', { name: /^Run slow-tap target-jsonl/ }).innerText(), {
        timeout: 20_000,
      })
      .toContain('cancelled');
    expect(await log.innerText()).toContain('Run cancelled: Cancelled by admin');
    await shot(page, 'run-cancelled');
    const runs = await api(t.url, t.adminToken, 'GET', `/workspaces/${workspace.id}/runs`);
    expect(runs.body.items.map((r: { status: string }) => r.status)).toEqual(['cancelled']);
  });

  it('works from the keyboard: the drop-down opens, moves with arrows and closes with Escape', async () => {
    const button = page.getByRole('button', { name: 'Runs (dev)' });
    await button.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu', { name: 'Workspaces' });
    await menu.waitFor();
    // The first item has focus; ArrowDown reaches Settings, ArrowUp wraps back.
    expect(await page.locator(':focus').textContent()).toBe('New workspace');
    await page.keyboard.press('ArrowDown');
    expect(await page.locator(':focus').textContent()).toBe('Settings');
    await page.keyboard.press('Escape');
    await expect.poll(() => menu.count()).toBe(0);
    expect(await page.locator(':focus').getAttribute('aria-haspopup')).toBe('menu');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await page.getByLabel('Name *').waitFor();
    await page.goBack();
  });

  it('shows why a run cannot start, where it was asked for', async () => {
    await page.getByLabel('Pipeline').fill('tap-nope target-jsonl');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toContain("'tap-nope' is neither an extractor");
  });

  it('shows on every page of the workspace where a pushed meltano.yml breaks, until a fix is pushed', async () => {
    const clone = join(work, 'clone');
    const good = readFileSync(join(clone, 'meltano.yml'), 'utf8');
    writeFileSync(join(clone, 'meltano.yml'), `${good}- name: [broken\n`);
    expect((await git(clone, ['commit', '-am', 'Break meltano.yml'])).code).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    const banner = page.getByRole('alert', { name: 'main does not load' });
    for (const tab of ['Configuration', 'Settings', 'Runs']) {
      await page.getByRole('link', { name: tab, exact: true }).click();
      await expect.poll(() => banner.count(), { timeout: 10_000 }).toBe(1);
      const text = await banner.innerText();
      expect(text).toMatch(/main does not load at meltano\.yml:\d+:\d+: invalid YAML/);
      expect(text).toMatch(/keeps running its last good commit, [0-9a-f]{7}/);
    }
    await shot(page, 'broken-main');
    writeFileSync(join(clone, 'meltano.yml'), good);
    expect((await git(clone, ['commit', '-am', 'Fix meltano.yml'])).code).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    await page.getByRole('link', { name: 'Configuration', exact: true }).click();
    await expect.poll(() => banner.count(), { timeout: 10_000 }).toBe(0);
  });
});
