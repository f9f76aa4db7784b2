import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium, screenshotter, signIn } from '../helpers/browser.js';
import { productPageMeltanoYml } from '../helpers/shared-paths.js';
import { api, git, startTestServer, type TestServer, withToken } from '../helpers/test-server.js';

const AUTH0_YML = productPageMeltanoYml();

const WORKSPACES = ['My Workspace (dev)', 'My Workspace (staging)', 'My Workspace'] as const;

describe.skipIf(!chromiumAvailable())('the product page, step by step, in a real browser', () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let work: string;
  const shot = screenshotter('product-page');

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    work = mkdtempSync(join(tmpdir(), 'sluice-ui-'));
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Opens the drop-down (a button named after the current workspace) and picks an item. */
  const menu = async (item: string) => {
    await page.locator('button[aria-haspopup="menu"]').click();
    await page.getByRole('menuitem', { name: item, exact: true }).click();
  };

  const settingsOf = async (workspace: string) => {
    await menu(workspace);
    await menu('Settings');
    await expect.poll(() => page.getByRole('heading', { name: 'Settings' }).isVisible()).toBe(true);
  };

  it('creates the workspaces, sets environments, promotes dev -> staging -> prod and shows each configuration', async () => {
    await signIn(page, t.url, t.adminToken);
    await page.getByRole('button', { name: 'Select workspace' }).waitFor();
    await shot(page, 'signed-in');

    // "Open the drop-down menu, select New workspace, provide a workspace name in the Name * field, click Save"
    for (const name of WORKSPACES) {
      await menu('New workspace');
      await page.getByLabel('Name *').fill(name);
      if (name === WORKSPACES[0]) await shot(page, 'new-workspace');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('button', { name, exact: true }).waitFor();
    }

    // "Open the drop-down menu, select Settings, provide the name of the active environment in the
    // Active environment field, click Save"; and read each repository URL from Settings.
    const urls: Record<string, string> = {};
    for (const [name, environment] of [
      ['My Workspace (staging)', 'staging'],
      ['My Workspace', 'prod'],
      ['My Workspace (dev)', null],
    ] as const) {
      await settingsOf(name);
      if (environment) {
        await page.getByLabel('Active environment').fill(environment);
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      }
      expect(await page.getByLabel('Active environment').inputValue()).toBe(environment ?? 'dev');
      expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe(name);
      urls[name] = await page.getByLabel('Repository URL').inputValue();
      expect(urls[name]).toMatch(new RegExp(`^${t.url}/git/My-Workspace-[a-z-]+\\.git$`));
      if (name === 'My Workspace (staging)') await shot(page, 'settings');
    }

    // A change in dev, pushed with stock git.
    const clone = join(work, 'dev');
    expect(
      (await git(work, ['clone', withToken(urls['My Workspace (dev)'] ?? '', t.adminToken), clone])).code,
    ).toBe(0);
    writeFileSync(join(clone, 'meltano.yml'), AUTH0_YML);
    expect((await git(clone, ['commit', '-am', 'Add tap-auth0'])).code).toBe(0);
    const pushed = await git(clone, ['push', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).toBe(0);

    // Staging is promoted from dev (its upstream, set through the API: the route).
    const listed = (await api(t.url, t.adminToken, 'GET', '/workspaces')).body.items as {
      id: string;
      name: string;
    }[];
    const idOf = (name: string) => listed.find((w) => w.name === name)?.id ?? '';
    const upstreamOfStaging = idOf('My Workspace (dev)');
    expect(
      (
        await api(t.url, t.adminToken, 'PATCH', `/workspaces/${idOf('My Workspace (staging)')}`, {
          upstream: upstreamOfStaging,
        })
      ).status,
    ).toBe(200);
    // Set elsewhere: the open page learns it on its next load.
    await page.reload();

    // Promote dev -> staging -> prod through the Promote page, checking the preview's configuration change.
    for (const [source, target, clientId] of [
      ['My Workspace (dev)', 'My Workspace (staging)', '4Zd5QXqHKNoKq4ySx8CP1UBm5eIUgh7t'],
      ['My Workspace (staging)', 'My Workspace', 'u4kcVHKUD9lkbUbXA3eXCt88scStaqHM'],
    ] as const) {
      await menu(target);
      await page.getByRole('link', { name: 'Promote' }).click();
      if (target === 'My Workspace (staging)') {
        // Staging names dev as its upstream: the page opens on that promotion, already previewed.
        expect(await page.getByLabel('Source workspace').inputValue()).toBe(upstreamOfStaging);
      } else await page.getByLabel('Source workspace').selectOption({ label: `${source} · staging` });
      const changes = page.getByRole('table', { name: 'Configuration changes' });
      await changes.waitFor();
      expect(await changes.innerText()).toContain(clientId);
      expect(await page.getByRole('heading', { name: /Files \(\d+\)/ }).innerText()).toContain('Files (1)');
      await shot(page, `promote-preview-${target === 'My Workspace' ? 'prod' : 'staging'}`);
      await page.getByRole('button', { name: 'Promote' }).click();
      await page.getByRole('status').filter({ hasText: 'Promoted' }).waitFor();
      await page.getByRole('button', { name: 'Revert' }).first().waitFor();
    }
    await shot(page, 'promote-history');

    // The Audit page lists what happened to prod, newest first, with who did it.
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    const audit = page.getByRole('table', { name: 'Audit log' });
    await audit.waitFor();
    const rows = await audit.locator('tbody tr').allInnerTexts();
    expect(rows[0]).toMatch(/admin.*promotion\.apply/s);
    expect(rows.at(-1)).toContain('workspace.create');
    expect(rows.join('\n')).toMatch(
      /workspace\.update.*"activeEnvironment":"dev".*"activeEnvironment":"prod"/s,
    );
    await shot(page, 'audit');

    // "When the active environment is set to dev: client_id of ... (from dev environment)", per workspace.
    for (const [name, environment, domain, clientId] of [
      ['My Workspace (dev)', 'dev', 'matatika-staging.eu.auth0.com', '39Pu9tTomnTv594VAFYnmRvkEpSlI7a6'],
      [
        'My Workspace (staging)',
        'staging',
        'matatika-staging.eu.auth0.com',
        '4Zd5QXqHKNoKq4ySx8CP1UBm5eIUgh7t',
      ],
      ['My Workspace', 'prod', 'matatika.eu.auth0.com', 'u4kcVHKUD9lkbUbXA3eXCt88scStaqHM'],
    ] as const) {
      await menu(name);
      await page.getByRole('link', { name: 'Configuration' }).click();
      const table = page.getByRole('table', { name: 'tap-auth0 settings by environment' });
      await table.waitFor();
      const active = table.locator('td[aria-current="true"]');
      const [domainCell, clientIdCell] = await active.allInnerTexts();
      expect(domainCell?.split('\n')[0]).toBe(domain);
      expect(clientIdCell).toBe(`${clientId}\nfrom ${environment} environment`);
      expect(await page.getByText(`Active environment: ${environment}`).count()).toBe(1);
      await shot(page, `configuration-${environment}`);
    }
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByLabel('Pipeline').waitFor();
    await shot(page, 'runs');
    await page.getByRole('link', { name: 'Sluice' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await shot(page, 'home');
  });
});
