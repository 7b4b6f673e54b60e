// The seed's flows walked in Chromium as an operator would, against a real `harrow serve` on the sim runtime.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord, Pod, VirtualMachine } from '../../src/resources/types.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import {
  apiGet,
  apiSend,
  assertPeoplesText,
  ensureWebBuilt,
  signIn,
  textOf,
} from './ui-support.ts';

const NS = 'default';
const VM = 'web-1';
const OTHER = 'db-1';
const NIC = 'nic-1';
const GUEST_SET_MAC = '02:00:00:00:be:ef';
const NEW_MAC = '02:00:00:0c:0f:fe';
const VMS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

const specMac = (vm: VirtualMachine): string | undefined =>
  vm.spec.template.spec.domain.devices.interfaces?.[0]?.macAddress;

async function podMac(server: HarrowServer, vm: string): Promise<string | undefined> {
  const pods = await apiGet<{ items: Pod[] }>(
    server,
    `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`vm.kubevirt.io/name=${vm}`)}`,
  );
  const pod = pods.items.find(
    (p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running',
  );
  const status = pod?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'];
  if (!status) return undefined;
  const entries = JSON.parse(status) as Array<{ name: string; mac?: string; default?: boolean }>;
  return entries.find((e) => !e.default && e.name.endsWith('/vlan5'))?.mac?.toLowerCase();
}

async function guestExec(
  server: HarrowServer,
  vmi: string,
  command: string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return apiSend(
    server,
    'POST',
    `/apis/subresources.harrow.io/v1/namespaces/${NS}/virtualmachineinstances/${vmi}/guest-exec`,
    { command },
  );
}

describe('web UI: the seed’s MAC flows in a browser', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;
  let platformMac = '';

  const shot = (step: string): Promise<string> => b.screenshot(step);
  const noConsoleErrors = (step: string): void => {
    const problems = unexpectedProblems(b.takeConsoleProblems());
    assert.deepEqual(problems, [], `console errors during "${step}"`);
  };

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    b = await launchBrowser('seed');
  });

  after(async () => {
    await b?.close();
    await server?.stop();
  });

  it('signs in with the token and creates a bridge network with a VLAN and a DHCP range', async () => {
    const { page } = b;
    await signIn(page, server);
    assert.match(page.url(), /\/ui\/namespaces\/default\/vms$/);
    await shot('signed in, empty VM list');
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Networks' })
      .click();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill('vlan5');
    await page.getByLabel('VLAN ID', { exact: true }).fill('5');
    await shot('new bridge network form');
    await page.getByRole('button', { name: 'Create network' }).click();
    const row = page.getByRole('row').filter({ hasText: 'vlan5' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /198\.18\.5\.100 – 198\.18\.5\.199/);
    const nad = await apiGet<{ spec: { config: string } }>(
      server,
      `/apis/k8s.cni.cncf.io/v1/namespaces/${NS}/network-attachment-definitions/vlan5`,
    );
    assert.equal(JSON.parse(nad.spec.config).vlan, 5);
    await shot('network vlan5 listed');
    noConsoleErrors('create network');
  });

  it('creates a VM on that network and shows the MAC its pod interface got', async () => {
    const { page } = b;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Virtual Machines' })
      .click();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill(VM);
    await page.getByLabel('Network of NIC 1').selectOption('vlan5');
    await shot('create VM form');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/ui\/namespaces\/default\/vms\/web-1\/networks$/);
    platformMac = await waitFor(
      async () => {
        const shown = await textOf(page, `platform-mac-${NIC}`);
        return MAC.test(shown) ? shown : undefined;
      },
      { timeoutMs: 60_000, message: 'platform MAC shown on the Networks tab' },
    );
    assert.equal(
      platformMac,
      await podMac(server, VM),
      'the page shows the pod network-status MAC',
    );
    assert.equal(
      platformMac,
      specMac(await apiGet<VirtualMachine>(server, `${VMS}/${VM}`)),
      'the pool wrote it into the manifest',
    );
    await waitFor(async () => (await textOf(page, `guest-mac-${NIC}`)).startsWith(platformMac), {
      timeoutMs: 60_000,
      message: 'guest agent reports the MAC',
    });
    assert.match(
      (await page.getByRole('article').filter({ hasText: NIC }).textContent()) ?? '',
      /In sync/,
    );
    await shot('VM networks tab: platform and guest MAC in sync');

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Virtual Machines' })
      .click();
    const row = page.locator(`tr[data-vm="${VM}"]`);
    await waitFor(async () => (await row.textContent())?.includes('Running'), {
      timeoutMs: 60_000,
      message: 'row says Running',
    });
    assert.equal(await textOf(page, `mac-${VM}-${NIC}`), platformMac);
    await shot('VM list with state, node, IP and MAC');
    noConsoleErrors('create VM');
  });

  it('a MAC changed inside the guest shows a drift badge live, and the Networks tab explains it and offers both remedies', async () => {
    const { page } = b;
    const row = page.locator(`tr[data-vm="${VM}"]`);
    const r = await guestExec(server, VM, ['ip', 'link', 'set', 'eth0', 'address', GUEST_SET_MAC]);
    assert.equal(r.exitCode, 0, r.stderr);
    // No reload: the list follows the watch.
    await row.getByText('MAC drift').waitFor({ timeout: 60_000 });
    assert.match(
      (await row.getByRole('status').getAttribute('aria-label')) ?? '',
      new RegExp(`guest uses ${GUEST_SET_MAC}`),
    );
    assert.equal(
      await textOf(page, `mac-${VM}-${NIC}`),
      platformMac,
      'the platform MAC stays what the pod has',
    );
    await shot('drift badge in the VM list');

    await row.getByRole('link', { name: VM }).click();
    await page.getByTestId('drift-banner').waitFor();
    await shot('VM page: drift banner');
    await page.getByRole('tab', { name: /Networks/ }).click();
    const explain = page.getByRole('group', { name: `What the MAC drift on ${NIC} means` });
    await explain.waitFor();
    const text = (await explain.textContent()) ?? '';
    assert.ok(text.includes(GUEST_SET_MAC) && text.includes(platformMac), text);
    assert.match(text, /dropped/);
    assert.match(text, /next restart/);
    assert.ok((await textOf(page, `guest-mac-${NIC}`)).startsWith(GUEST_SET_MAC));
    assert.equal(await textOf(page, `platform-mac-${NIC}`), platformMac);
    await explain.getByRole('button', { name: `Restart to restore ${platformMac}` }).waitFor();
    await explain.getByRole('button', { name: `Adopt ${GUEST_SET_MAC} in the manifest` }).waitFor();
    await assertPeoplesText(page);
    await shot('Networks tab: what the drift means and the two remedies');
    // The conditions table says the drift in words too, never the observer's message with its commands.
    await page.getByRole('tab', { name: 'Basics' }).click();
    await page.locator('[data-message="VMI GuestMACMismatch"]').waitFor();
    assert.ok((await assertPeoplesText(page)).some((t) => t.includes(GUEST_SET_MAC)));
    await page.getByRole('tab', { name: /Networks/ }).click();
    noConsoleErrors('drift');
  });

  it('restart restores the platform MAC in the guest', async () => {
    const { page } = b;
    await page.getByRole('button', { name: `Restart to restore ${platformMac}` }).click();
    await page
      .getByRole('dialog')
      .getByRole('button', { name: `Restart ${VM}` })
      .click();
    await waitFor(
      async () =>
        (await textOf(page, `guest-mac-${NIC}`)).startsWith(platformMac) &&
        (await page.getByText('MAC drift').count()) === 0,
      { timeoutMs: 90_000, message: 'guest MAC back to the platform MAC, badge gone' },
    );
    // The page may show the restored device MAC while the new guest still boots; ask the guest once it runs.
    const inGuest = await waitFor(
      () => guestExec(server, VM, ['cat', '/sys/class/net/eth0/address']),
      { timeoutMs: 60_000, message: 'guest answers guest-exec' },
    );
    assert.equal(inGuest.stdout.trim(), platformMac);
    await shot('after restart: guest MAC restored, no drift');
    noConsoleErrors('restore by restart');
  });

  it('Edit config → Networks → Advanced refuses a malformed and a duplicate MAC at the field before anything is saved', async () => {
    const { page } = b;
    await apiSend(server, 'POST', VMS, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: OTHER, namespace: NS },
      spec: {
        runStrategy: 'Halted',
        template: {
          spec: {
            domain: { devices: { interfaces: [{ name: NIC, bridge: {} }] } },
            networks: [{ name: NIC, multus: { networkName: 'vlan5' } }],
          },
        },
      },
    });
    const otherMac = await waitFor(
      async () => specMac(await apiGet<VirtualMachine>(server, `${VMS}/${OTHER}`)),
      { message: 'db-1 got a MAC' },
    );
    const before = await apiGet<VirtualMachine>(server, `${VMS}/${VM}`);
    const auditBefore = (
      await apiGet<{ items: AuditRecord[] }>(
        server,
        `/apis/harrow.io/v1/namespaces/${NS}/auditrecords`,
      )
    ).items.length;

    await page.getByRole('button', { name: 'Edit config' }).click();
    await page.getByRole('heading', { name: `Edit config: ${VM}` }).waitFor();
    await page.getByRole('tab', { name: 'Networks' }).click();
    await page.getByRole('button', { name: 'Advanced' }).click();
    const field = page.getByLabel(`MAC address of ${NIC}`);
    const save = page.getByRole('button', { name: 'Save' });

    await field.fill('02:00:00:zz:00:01');
    const fieldError = page.locator('.field-error');
    await fieldError.waitFor();
    assert.match((await fieldError.textContent()) ?? '', /invalid MAC address/);
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await save.isDisabled(), true);
    await shot('malformed MAC: field error, Save disabled');

    await field.fill(otherMac.toUpperCase().replaceAll(':', '-'));
    await waitFor(
      async () =>
        (await fieldError.count()) > 0 ? (await fieldError.textContent())?.includes(OTHER) : false,
      {
        timeoutMs: 20_000,
        message: 'the dry run names the VM holding the MAC',
      },
    );
    assert.equal(await save.isDisabled(), true);
    await shot('duplicate MAC: the server dry run names the holder');

    const afterTries = await apiGet<VirtualMachine>(server, `${VMS}/${VM}`);
    assert.equal(
      afterTries.metadata.resourceVersion,
      before.metadata.resourceVersion,
      'nothing was saved',
    );
    assert.equal(specMac(afterTries), platformMac);
    const auditAfter = (
      await apiGet<{ items: AuditRecord[] }>(
        server,
        `/apis/harrow.io/v1/namespaces/${NS}/auditrecords`,
      )
    ).items.length;
    assert.equal(auditAfter, auditBefore, 'dry runs leave no audit record');
    noConsoleErrors('malformed and duplicate MAC');
  });

  it('a MAC changed through Edit config applies on restart: new MAC, connectivity check, audit entry', async () => {
    const { page } = b;
    const field = page.getByLabel(`MAC address of ${NIC}`);
    await field.fill(NEW_MAC);
    await page.getByText(`${NEW_MAC} is valid and free`).waitFor();
    await shot('new MAC accepted by the dry run');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/ui\/namespaces\/default\/vms\/web-1\/networks$/);
    const banner = page.getByTestId('restart-required-banner');
    await banner.waitFor({ timeout: 30_000 });
    await banner.getByRole('button', { name: 'Restart now' }).waitFor();
    assert.match((await banner.textContent()) ?? '', new RegExp(`NIC ${NIC} gets MAC ${NEW_MAC}`));
    await assertPeoplesText(page);
    assert.equal(specMac(await apiGet<VirtualMachine>(server, `${VMS}/${VM}`)), NEW_MAC);
    await shot('saved: restart required banner');

    await banner.getByRole('button', { name: 'Restart now' }).click();
    await page
      .getByRole('dialog')
      .getByRole('button', { name: `Restart ${VM}` })
      .click();
    await waitFor(async () => (await textOf(page, `platform-mac-${NIC}`)) === NEW_MAC, {
      timeoutMs: 90_000,
      message: 'platform MAC is the new one',
    });
    await waitFor(async () => (await textOf(page, `guest-mac-${NIC}`)).startsWith(NEW_MAC), {
      timeoutMs: 60_000,
      message: 'guest has the new MAC',
    });
    assert.equal(await podMac(server, VM), NEW_MAC);
    const check = page.getByTestId('connectivity-banner');
    await waitFor(
      async () =>
        (await check.count()) > 0 ? (await check.textContent())?.includes('passed') : false,
      {
        timeoutMs: 90_000,
        message: 'connectivity check passed',
      },
    );
    assert.equal(await page.getByTestId('restart-required-banner').count(), 0);
    // Shown once (not again in the Networks tab), from the check's record, and dismissible.
    assert.match(
      (await check.textContent()) ?? '',
      new RegExp(`changed from ${platformMac} to ${NEW_MAC}`),
    );
    assert.equal(await page.getByText(/Connectivity check passed/).count(), 1);
    await assertPeoplesText(page);
    await shot('after restart: new MAC and the connectivity check');
    await check.getByRole('button', { name: 'Dismiss' }).click();
    await waitFor(async () => (await check.count()) === 0, {
      message: 'connectivity result dismissed',
    });

    await page.getByRole('tab', { name: 'Audit' }).click();
    const entry = page
      .getByRole('row')
      .filter({ hasText: NEW_MAC })
      .filter({ hasText: platformMac });
    await entry.first().waitFor({ timeout: 30_000 });
    assert.match((await entry.first().textContent()) ?? '', /macAddress/);
    await page
      .getByText(/Connectivity passed/)
      .first()
      .waitFor({ timeout: 30_000 });
    await shot('audit tab: the change and the connectivity result');
    noConsoleErrors('change MAC');
  });

  it('the MAC pool tells who holds the new MAC and that the old one is quarantined', async () => {
    const { page } = b;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'MAC Pool' })
      .click();
    await page.getByRole('meter', { name: 'Usage of default' }).waitFor();
    const search = page.getByRole('search', { name: 'Who holds an address?' });
    await search.getByLabel('MAC address', { exact: true }).fill(NEW_MAC.replaceAll(':', ''));
    await search.getByRole('button', { name: 'Look up' }).click();
    await search.getByText(`is in use by ${NS}/${VM}`).waitFor();
    await shot('MAC pool: who holds the new MAC');
    await search.getByLabel('MAC address', { exact: true }).fill(platformMac);
    // The pool releases the old MAC once no VM names it; each Look up asks the server afresh.
    await waitFor(
      async () => {
        await search.getByRole('button', { name: 'Look up' }).click();
        await search.locator('.lookup-result').waitFor();
        return (await search.locator('.lookup-result').textContent())?.includes(
          'is quarantined until',
        );
      },
      { timeoutMs: 60_000, intervalMs: 1000, message: 'the old MAC shows as quarantined' },
    );
    await shot('MAC pool: the old MAC in quarantine');
    noConsoleErrors('MAC pool');
  });
});
