// Issue 16 item 2 in Chromium against a real `harrow serve` (sim): a MAC change the server would accept with a Warning
// (the user's cloud-init networkData still matches the old MAC) is shown as soon as the MAC is typed (the field's dry
// run) and again on Save — the warning naming the field and the line, nothing stored until "Save anyway"; going back
// stores nothing; a change without a warning saves at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord, VirtualMachine } from '../../src/resources/types.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { bridgeNetwork, NS, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { matchingNetworkData } from './os-mac-pitfalls.ts';
import { ensureWebBuilt, seriousAxeViolations, signIn } from './ui-support.ts';

const VM = 'pinned';
const OLD = '02:aa:16:00:00:41';
const NEW = '02:aa:16:00:00:42';
const PLAIN = 'plain';
const FIELD = 'spec.template.spec.volumes[0].cloudInitNoCloud.networkData';

/** A halted VM whose own networkData names its NIC by the MAC it has (line 5 of it). */
function pinnedVm(): VirtualMachine {
  const vm = virtualMachine(VM, { mac: OLD, runStrategy: 'Halted' });
  vm.spec.template.spec.domain.devices.disks = [{ name: 'cloudinit', disk: { bus: 'virtio' } }];
  vm.spec.template.spec.volumes = [
    {
      name: 'cloudinit',
      cloudInitNoCloud: { userData: '#cloud-config\n', networkData: matchingNetworkData(OLD) },
    },
  ];
  return vm;
}

const specMac = (vm: VirtualMachine): string | undefined =>
  vm.spec.template.spec.domain.devices.interfaces?.[0]?.macAddress;

describe(
  'web UI: the server warning about a MAC change is shown before Save',
  { timeout: 600_000 },
  () => {
    let server: HarrowServer;
    let b: BrowserSession;

    before(async () => {
      ensureWebBuilt();
      server = await startServer();
      b = await launchBrowser('mac-warning');
      await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 94),
      );
      await server.client.create('VirtualMachine', { namespace: NS }, pinnedVm());
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine(PLAIN, { runStrategy: 'Halted' }),
      );
      await signIn(b.page, server);
    });

    after(async () => {
      await b?.close();
      await server?.stop();
    });

    const get = (name: string): Promise<VirtualMachine> =>
      server.client.get<VirtualMachine>('VirtualMachine', { namespace: NS, name });
    const updates = async (name: string): Promise<number> =>
      (await server.client.list<AuditRecord>('AuditRecord', { namespace: NS })).items.filter(
        (r) => r.spec.resource.name === name && r.spec.verb !== 'create',
      ).length;

    async function editMac(name: string, mac: string): Promise<void> {
      const { page } = b;
      await page.goto(`${server.url}/ui/namespaces/${NS}/vms/${name}/edit`);
      await page.getByRole('heading', { name: `Edit config: ${name}` }).waitFor();
      await page.getByRole('tab', { name: 'Networks' }).click();
      await page.getByRole('button', { name: 'Advanced' }).click();
      await page.getByLabel('MAC address of default').fill(mac);
      await page.getByText(`${mac} is valid and free`).waitFor({ timeout: 30_000 });
    }

    it('a MAC the networkData still matches: the warning names field and line; Go back stores nothing; Save anyway saves', async () => {
      const { page } = b;
      const before = await get(VM);
      const auditBefore = await updates(VM);
      await editMac(VM, NEW);
      // The dry run made as the MAC was typed already heard the warning: it shows beside the field, before Save.
      const beside = (await page.getByTestId('mac-warnings').textContent()) ?? '';
      assert.match(beside, new RegExp(`Interface default: its MAC changes from ${OLD} to ${NEW}`));
      assert.ok(beside.includes(`${FIELD} line 5`), beside);
      assert.equal((await get(VM)).metadata.resourceVersion, before.metadata.resourceVersion);
      assert.deepEqual(await seriousAxeViolations(page, 'warning beside the field'), []);
      await b.screenshot('warning beside the field');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: `Save ${VM} despite the server's warning?` });
      await dialog.waitFor();
      const warning = (await dialog.getByTestId('save-warnings').textContent()) ?? '';
      assert.match(warning, new RegExp(`Interface default: its MAC changes from ${OLD} to ${NEW}`));
      assert.ok(
        warning.includes(`${FIELD} line 5 (macaddress: "${OLD}") still matches ${OLD}`),
        warning,
      );
      assert.deepEqual(await seriousAxeViolations(page, 'warning before save'), []);
      await b.screenshot('warning before save');
      // Nothing is stored while the question is open, nor after going back.
      assert.equal((await get(VM)).metadata.resourceVersion, before.metadata.resourceVersion);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const kept = await get(VM);
      assert.equal(kept.metadata.resourceVersion, before.metadata.resourceVersion);
      assert.equal(specMac(kept), OLD);
      assert.equal(await updates(VM), auditBefore, 'no write reached the server');

      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Save anyway' }).click();
      await page.waitForURL(new RegExp(`/ui/namespaces/${NS}/vms/${VM}/networks$`));
      await waitFor(async () => specMac(await get(VM)) === NEW, {
        message: 'the change stored after Save anyway',
      });
      assert.deepEqual(unexpectedProblems(b.takeConsoleProblems()), []);
    });

    it('a MAC change without a warning saves at once', async () => {
      const { page } = b;
      const mac = '02:aa:16:00:00:43';
      await editMac(PLAIN, mac);
      assert.equal(
        await page.getByTestId('mac-warnings').count(),
        0,
        'no warning beside the field',
      );
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.waitForURL(new RegExp(`/ui/namespaces/${NS}/vms/${PLAIN}/networks$`));
      assert.equal(await page.getByRole('dialog').count(), 0);
      await waitFor(async () => specMac(await get(PLAIN)) === mac, { message: 'saved' });
      assert.deepEqual(unexpectedProblems(b.takeConsoleProblems()), []);
    });
  },
);
