// The web UI's "Schedule in maintenance window" in Chromium: a VM with a window, a MAC changed through the API, the
// button offered (discovery lists schedule-restart), clicked, and the RestartScheduled banner shown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { apiGet, apiSend, ensureWebBuilt, signIn, textOf } from './ui-support.ts';

const VM = 'maint-1';
const VM_PATH = `/apis/kubevirt.io/v1/namespaces/default/virtualmachines/${VM}`;
const WINDOW = { schedule: '0 2 * * SUN', duration: '2h', timeZone: 'Europe/Berlin' };

describe('web UI: schedule a restart in the maintenance window', { timeout: 300_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    b = await launchBrowser('maintenance');
  });
  after(async () => {
    await b?.close();
    await server?.stop();
  });

  it('offers the button for a VM with a window and a pending MAC change, and shows the plan once clicked', async () => {
    await apiSend(server, 'POST', '/apis/kubevirt.io/v1/namespaces/default/virtualmachines', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: {
        name: VM,
        annotations: { 'harrow.io/maintenance-window': JSON.stringify(WINDOW) },
      },
      spec: {
        runStrategy: 'Always',
        template: {
          spec: {
            domain: {
              devices: {
                interfaces: [{ name: 'default', bridge: {}, macAddress: '02:ac:00:00:00:01' }],
              },
            },
            networks: [{ name: 'default', pod: {} }],
          },
        },
      },
    });
    await waitFor(
      async () =>
        (await apiGet<VirtualMachine>(server, VM_PATH)).status?.printableStatus === 'Running',
      { message: `${VM} running` },
    );
    await apiSend(
      server,
      'PATCH',
      VM_PATH,
      {
        spec: {
          template: {
            spec: {
              domain: {
                devices: {
                  interfaces: [{ name: 'default', bridge: {}, macAddress: '02:ac:00:00:00:02' }],
                },
              },
            },
          },
        },
      },
      'application/merge-patch+json',
    );

    const { page } = b;
    await signIn(page, server);
    await page.goto(`${server.url}/ui/namespaces/default/vms/${VM}`);
    await page.getByTestId('restart-required-banner').waitFor();
    await b.screenshot('restart required, schedule offered');
    await page.getByRole('button', { name: 'Schedule in maintenance window' }).click();
    await page.getByTestId('restart-scheduled-banner').waitFor();
    await b.screenshot('restart scheduled banner');
    const banner = await textOf(page, 'restart-scheduled-banner');
    assert.match(banner, /Restart scheduled in the maintenance window/);
    assert.match(
      banner,
      /restart planned for \S+ \(\d{4}-\d\d-\d\d 02:00 Europe\/Berlin\) in maintenance window "0 2 \* \* SUN" \(2h, Europe\/Berlin\) from the VM's annotation/,
    );
    assert.equal(
      await page.getByTestId('restart-required-banner').count(),
      0,
      'the restart-required banner gives way to the plan',
    );
    const vm = await apiGet<VirtualMachine>(server, VM_PATH);
    assert.ok(
      Date.parse(vm.metadata.annotations?.['harrow.io/restart-scheduled-at'] ?? '') > Date.now(),
    );
    assert.deepEqual(unexpectedProblems(b.takeConsoleProblems()), []);
  });
});
