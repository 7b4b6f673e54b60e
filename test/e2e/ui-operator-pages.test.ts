// The rest of the operator's UI in Chromium against a real server: adopting the guest's MAC, network form errors,
// the audit log's filters and JSON export, and keyboard use on a laptop-sized screen.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { apiGet, apiSend, ensureWebBuilt, signIn, textOf } from './ui-support.ts';

const NS = 'default';
const VM = 'app-1';
const NIC = 'nic-1';
const GUEST_MAC = '02:00:00:00:ad:0b';
const VMS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;

describe('web UI: adopt, networks, audit log, keyboard', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;

  const noConsoleErrors = (step: string): void => {
    assert.deepEqual(
      unexpectedProblems(b.takeConsoleProblems()),
      [],
      `console errors during "${step}"`,
    );
  };

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    // A laptop screen.
    b = await launchBrowser('operator', { width: 1366, height: 768 });
    await apiSend(
      server,
      'POST',
      `/apis/k8s.cni.cncf.io/v1/namespaces/${NS}/network-attachment-definitions`,
      {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: 'vlan7', namespace: NS },
        spec: {
          config: JSON.stringify({
            cniVersion: '0.3.1',
            name: 'vlan7',
            type: 'bridge',
            vlan: 7,
            ipam: {
              subnet: '198.18.7.0/24',
              rangeStart: '198.18.7.10',
              rangeEnd: '198.18.7.50',
              gateway: '198.18.7.1',
            },
          }),
        },
      },
    );
    await apiSend(server, 'POST', VMS, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: VM, namespace: NS },
      spec: {
        runStrategy: 'Always',
        template: {
          spec: {
            domain: { devices: { interfaces: [{ name: NIC, bridge: {} }] } },
            networks: [{ name: NIC, multus: { networkName: 'vlan7' } }],
          },
        },
      },
    });
  });

  after(async () => {
    await b?.close();
    await server?.stop();
  });

  it('adopting the guest’s MAC is one click, then a restart applies it', async () => {
    const { page } = b;
    await signIn(page, server);
    await page.goto(`${server.url}/ui/namespaces/${NS}/vms/${VM}/networks`);
    const platformMac = await waitFor(
      async () => {
        const t = await textOf(page, `platform-mac-${NIC}`);
        return /^[0-9a-f:]{17}$/.test(t) && (await textOf(page, `guest-mac-${NIC}`)).startsWith(t)
          ? t
          : undefined;
      },
      { timeoutMs: 60_000, message: 'app-1 running with its MAC shown' },
    );
    const r = await apiSend<{ exitCode: number; stderr: string }>(
      server,
      'POST',
      `/apis/subresources.harrow.io/v1/namespaces/${NS}/virtualmachineinstances/${VM}/guest-exec`,
      {
        command: ['ip', 'link', 'set', 'eth0', 'address', GUEST_MAC],
      },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const adopt = page.getByRole('button', { name: `Adopt ${GUEST_MAC} in the manifest` });
    await adopt.waitFor({ timeout: 60_000 });
    await b.screenshot('drift before adopting');
    await adopt.click();
    await page.getByRole('button', { name: `${GUEST_MAC} adopted — restart to apply` }).waitFor();
    assert.equal(
      (await apiGet<VirtualMachine>(server, `${VMS}/${VM}`)).spec.template.spec.domain.devices
        .interfaces?.[0]?.macAddress,
      GUEST_MAC,
    );
    const banner = page.getByTestId('restart-required-banner');
    await banner.waitFor({ timeout: 30_000 });
    // No maintenance window is set here, so the UI does not offer to schedule the restart in one.
    assert.equal(
      await banner.getByRole('button', { name: 'Schedule in maintenance window' }).count(),
      0,
    );
    await b.screenshot('adopted: restart required');
    await banner.getByRole('button', { name: 'Restart now' }).click();
    await page
      .getByRole('dialog')
      .getByRole('button', { name: `Restart ${VM}` })
      .click();
    await waitFor(
      async () =>
        (await textOf(page, `platform-mac-${NIC}`)) === GUEST_MAC &&
        (await page.getByText('MAC drift').count()) === 0,
      {
        timeoutMs: 90_000,
        message: 'the platform now assigns the adopted MAC and the drift is gone',
      },
    );
    assert.notEqual(GUEST_MAC, platformMac);
    await b.screenshot('adopted MAC applied after restart');
    await page.getByRole('tab', { name: 'Events' }).click();
    await page
      .getByRole('row')
      .filter({ hasText: 'ConnectivityCheckPassed' })
      .first()
      .waitFor({ timeout: 60_000 });
    await b.screenshot('events tab');
    noConsoleErrors('adopt');
  });

  it('the network form names each wrong field and creates nothing', async () => {
    const { page } = b;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Networks' })
      .click();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill('Bad_Name');
    await page.getByLabel('VLAN ID', { exact: true }).fill('5000');
    await page.getByLabel('Gateway', { exact: true }).fill('198.18.5.150');
    await page.getByRole('button', { name: 'Create network' }).click();
    for (const text of ['lower-case letters', 'from 1 to 4094', 'outside the DHCP range']) {
      await page.locator('.field-error', { hasText: text }).waitFor();
    }
    await b.screenshot('network form errors');
    const nads = await apiGet<{ items: unknown[] }>(
      server,
      `/apis/k8s.cni.cncf.io/v1/namespaces/${NS}/network-attachment-definitions`,
    );
    assert.equal(nads.items.length, 1, 'only vlan7 exists');
    await page.getByRole('button', { name: 'Cancel' }).click();
    noConsoleErrors('network form');
  });

  it('the audit log filters by VM, user and time, and exports what it shows as JSON', async () => {
    const { page } = b;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Audit Log' })
      .click();
    await page.getByRole('heading', { name: 'Audit Log' }).waitFor();
    await page.getByLabel('Virtual machine', { exact: true }).selectOption(VM);
    const rows = page.locator('tr[data-audit]');
    await rows.first().waitFor();
    const shown = await rows.count();
    assert.ok(shown >= 2, `the adopt patch and the restart are recorded (${shown} rows)`);
    for (const t of await rows.allTextContents()) assert.match(t, new RegExp(VM));
    await page.getByRole('row').filter({ hasText: GUEST_MAC }).first().waitFor();
    await b.screenshot('audit log filtered by VM');

    await page.getByLabel('User', { exact: true }).fill('nobody-by-this-name');
    await page.getByText('No audit records match.').waitFor();
    await page.getByLabel('User', { exact: true }).fill('admin');
    await rows.first().waitFor();
    await page.getByLabel('From', { exact: true }).fill('2099-01-01T00:00');
    await page.getByText('No audit records match.').waitFor();
    await page.getByLabel('From', { exact: true }).fill('');
    await rows.first().waitFor();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /Export JSON/ }).click(),
    ]);
    const path = await download.path();
    const doc = JSON.parse(await readFile(path, 'utf8')) as {
      kind: string;
      items: Array<{ spec: { resource: { name: string }; user: string } }>;
    };
    assert.equal(doc.kind, 'AuditRecordList');
    assert.equal(doc.items.length, await rows.count());
    assert.ok(doc.items.every((r) => r.spec.resource.name === VM && r.spec.user.includes('admin')));
    noConsoleErrors('audit log');
  });

  it('works from the keyboard: tabs move with the arrow keys and the namespace is chosen at the top', async () => {
    const { page } = b;
    await page.goto(`${server.url}/ui/namespaces/${NS}/vms/${VM}`);
    const basics = page.getByRole('tab', { name: 'Basics' });
    await basics.focus();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('tab', { name: /Networks/, selected: true }).waitFor();
    assert.match(page.url(), /\/networks$/);
    await page.keyboard.press('End');
    await page.getByRole('tab', { name: 'Console', selected: true }).waitFor();
    assert.equal(await page.locator(':focus').textContent(), 'Console');
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('tab', { name: 'Audit', selected: true }).waitFor();
    assert.match(page.url(), /\/audit$/);
    assert.equal(await page.locator(':focus').textContent(), 'Audit');
    await b.screenshot('keyboard: audit tab selected');

    await apiSend(server, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'staging' },
    });
    const ns = page.getByLabel('Namespace', { exact: true });
    await ns.locator('option[value="staging"]').waitFor({ state: 'attached' });
    await ns.selectOption('staging');
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Virtual Machines' })
      .click();
    await page.getByText('No virtual machines in staging yet.').waitFor();
    await b.screenshot('namespace staging selected');
    await ns.selectOption(NS);
    await page.locator(`tr[data-vm="${VM}"]`).waitFor();
    await b.screenshot('VM list on a laptop screen');
    noConsoleErrors('keyboard and namespace');
  });
});
