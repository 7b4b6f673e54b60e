// The web UI as an operator keeps it open all day, in Chromium against a real `harrow serve --tls auto` (browsers speak
// HTTP/2 only over TLS): five tabs share one session and one connection, so a Restart clicked in any of them reaches
// the server; when the server stops every open page says so and marks its data stale, and recovers when it is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { AuditRecord } from '../../src/resources/types.ts';
import { launchBrowser, type BrowserSession } from './browser.ts';
import { bridgeNetwork, NS, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { ensureWebBuilt } from './ui-support.ts';

const VMS = ['tab-a', 'tab-b', 'tab-c'];

/** Signs in on the first tab; later tabs get the session from it (BroadcastChannel), with no token typed. */
async function signInFirst(page: Page, server: HarrowServer): Promise<void> {
  await page.goto(`${server.url}/ui/namespaces/${NS}/vms`);
  await page.getByLabel('API token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Virtual Machines', level: 1 }).waitFor();
}

async function openSignedIn(b: BrowserSession, url: string): Promise<Page> {
  const page = await b.context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(url);
  await page.locator('h1').first().waitFor();
  await page.getByTestId('connection-state').waitFor();
  return page;
}

const restartRecords = async (server: HarrowServer, vm: string): Promise<AuditRecord[]> =>
  (await server.client.list<AuditRecord>('AuditRecord', { namespace: NS })).items.filter(
    (r) => r.spec.verb === 'restart' && r.spec.resource.name === vm,
  );

/**
 * Clicks the VM's Restart in the list (confirming when the page asks) and waits until the server has the request: its
 * audit record. Returns the milliseconds from the click to the record's timestamp (a figure, not an assertion).
 */
async function restartFrom(page: Page, server: HarrowServer, vm: string): Promise<number> {
  const before = (await restartRecords(server, vm)).length;
  const row = page.locator(`tr[data-vm="${vm}"]`);
  const button = row.getByRole('button', { name: /^Restart/ });
  await waitFor(() => button.isEnabled(), { message: `${vm}: Restart enabled` });
  const clicked = Date.now();
  await button.click();
  const record = await waitFor(
    async () => {
      const dialog = page.getByRole('dialog').or(page.getByRole('alertdialog'));
      if (await dialog.isVisible())
        await dialog
          .getByRole('button', { name: /^Restart/ })
          .click()
          .catch(() => undefined);
      const records = await restartRecords(server, vm);
      return records.length > before ? records.at(-1) : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, message: `the restart of ${vm} reaching the server` },
  );
  return Date.parse(record.spec.timestamp) - clicked;
}

describe('web UI: many tabs, one session, live connection state', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;

  before(async () => {
    ensureWebBuilt();
    server = await startServer({ args: ['--tls', 'auto'] });
    b = await launchBrowser('live-state', undefined, { ignoreHTTPSErrors: true });
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 71),
    );
    for (const vm of VMS)
      await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine(vm));
  });

  after(async () => {
    await b?.close();
    await server?.stop();
  });

  it('two and then five tabs on the VM list: a Restart clicked in any of them reaches the server', async () => {
    const first = b.page;
    await signInFirst(first, server);
    // The page's own record of how it was fetched (the DOM's PerformanceNavigationTiming).
    const protocol = await first.evaluate(
      () =>
        (
          performance as unknown as {
            getEntriesByType(type: string): Array<{ nextHopProtocol?: string }>;
          }
        ).getEntriesByType('navigation')[0]?.nextHopProtocol,
    );
    assert.equal(protocol, 'h2', 'the browser reaches the TLS server over HTTP/2');
    const tabs = [first, await openSignedIn(b, `${server.url}/ui/namespaces/${NS}/vms`)];
    // The second tab was never signed in: it has the VM list, not the sign-in form.
    await tabs[1]!.getByRole('heading', { name: 'Virtual Machines', level: 1 }).waitFor();
    const figures: number[] = [];
    figures.push(await restartFrom(tabs[1]!, server, 'tab-a'));
    figures.push(await restartFrom(tabs[0]!, server, 'tab-b'));
    while (tabs.length < 5)
      tabs.push(await openSignedIn(b, `${server.url}/ui/namespaces/${NS}/vms`));
    // Every tab holds its watches open; each still answers and any of them reaches the server.
    for (const [i, page] of tabs.entries()) {
      await page.locator(`tr[data-vm="${VMS[i % VMS.length]}"]`).waitFor();
      assert.equal(
        await page.getByTestId('connection-state').getAttribute('data-phase'),
        'connected',
      );
    }
    figures.push(await restartFrom(tabs[4]!, server, 'tab-c'));
    figures.push(await restartFrom(tabs[2]!, server, 'tab-a'));
    await b.screenshot('five tabs');
    console.log(
      `# restart click → server (audit record), ms, 2 then 5 tabs: ${figures.join(', ')}`,
    );
    // Signing out in one tab signs out every tab.
    await tabs[3]!.getByRole('button', { name: 'Sign out' }).click();
    for (const page of tabs) await page.getByLabel('API token').waitFor();
    for (const page of tabs.slice(1)) await page.close();
  });

  it('server stopped: every open page says disconnected and marks its data stale; server back: it recovers', async () => {
    const first = b.page;
    await signInFirst(first, server);
    const pages = [
      first,
      await openSignedIn(b, `${server.url}/ui/namespaces/${NS}/vms/tab-a`),
      await openSignedIn(b, `${server.url}/ui/networks`),
      await openSignedIn(b, `${server.url}/ui/macpool`),
      await openSignedIn(b, `${server.url}/ui/audit`),
    ];
    await first.locator('tr[data-vm="tab-a"]').waitFor();
    for (const page of pages)
      await waitFor(
        async () =>
          (await page.getByTestId('connection-state').getAttribute('data-phase')) === 'connected',
        { message: `${page.url()} connected` },
      );

    const stoppedAt = Date.now();
    await server.kill('SIGTERM');
    const seen: number[] = [];
    for (const page of pages) {
      await waitFor(
        async () =>
          (await page.getByTestId('connection-state').getAttribute('data-phase')) ===
          'disconnected',
        { timeoutMs: 30_000, message: `${page.url()} shows it is disconnected` },
      );
      seen.push(Date.now() - stoppedAt);
      const notice = page.getByTestId('stale-notice');
      assert.match((await notice.textContent()) ?? '', /out of date/);
      assert.equal(await page.locator('main').getAttribute('data-stale'), 'true');
      // The status is announced: the top bar's state is a live region saying it in words.
      assert.equal(await page.getByTestId('connection-state').getAttribute('role'), 'status');
      assert.match(
        (await page.getByTestId('connection-state').textContent()) ?? '',
        /Disconnected/,
      );
    }
    // What the list showed stays, marked stale; it never turns into "none".
    assert.equal(await first.locator('tr[data-vm="tab-a"]').count(), 1);
    assert.equal(await first.getByText(/No virtual machines/).count(), 0);
    await b.screenshot('server stopped');
    console.log(`# server stopped → each page disconnected (upper bound, ms): ${seen.join(', ')}`);

    await server.restart();
    for (const page of pages) {
      await waitFor(
        async () =>
          (await page.getByTestId('connection-state').getAttribute('data-phase')) === 'connected' &&
          (await page.getByTestId('stale-notice').count()) === 0 &&
          (await page.locator('main').getAttribute('data-stale')) === null,
        { timeoutMs: 60_000, message: `${page.url()} recovers by itself` },
      );
    }
    // Live again: a change made now shows up without a reload.
    await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine('tab-d'));
    await first.locator('tr[data-vm="tab-d"]').waitFor({ timeout: 30_000 });
    await b.screenshot('server back');
    for (const page of pages.slice(1)) await page.close();
  });
});
