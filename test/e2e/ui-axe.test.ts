// axe-core (the accessibility rules engine) on every page of the web UI in Chromium against a real server: no serious
// or critical violation on the VM list, a VM's tabs, create, edit, networks, audit log, MAC pool,
// namespaces, API tokens, images and disks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, type BrowserSession } from './browser.ts';
import { bridgeNetwork, NS, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { ensureWebBuilt, seriousAxeViolations, signIn } from './ui-support.ts';

const VM = 'axe-a';

const PAGES = [
  `/ui/namespaces/${NS}/vms`,
  `/ui/namespaces/${NS}/vms/${VM}/basics`,
  `/ui/namespaces/${NS}/vms/${VM}/networks`,
  `/ui/namespaces/${NS}/vms/${VM}/events`,
  `/ui/namespaces/${NS}/vms/${VM}/audit`,
  `/ui/namespaces/${NS}/vms/${VM}/console`,
  `/ui/namespaces/${NS}/vms/create`,
  `/ui/namespaces/${NS}/vms/${VM}/edit`,
  `/ui/namespaces/${NS}/networks`,
  `/ui/namespaces/${NS}/audit`,
  '/ui/macpool',
  '/ui/namespaces',
  '/ui/tokens',
  `/ui/namespaces/${NS}/images`,
  `/ui/namespaces/${NS}/disks`,
];

describe('web UI: axe-core on every page', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    b = await launchBrowser('axe');
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 73),
    );
    await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine(VM));
  });
  after(async () => {
    await b?.close();
    await server?.stop();
  });

  it('no serious or critical violations', async () => {
    const { page } = b;
    await signIn(page, server);
    const found: string[] = [];
    for (const path of PAGES) {
      await page.goto(server.url + path);
      await page.locator('main h1').first().waitFor();
      // The page has its data (not "Loading…") before it is judged.
      await waitFor(async () => (await page.getByText('Loading…').count()) === 0, {
        message: `${path} loaded`,
      });
      found.push(...(await seriousAxeViolations(page, path)));
    }
    assert.deepEqual(found, []);
  });
});
