// Bulk Start, Stop and Delete in the VM list, in Chromium against a real `harrow serve` (sim): each behind one
// confirmation naming how many, each reaching exactly the selected VMs (their audit records and their state on the
// server), and while the requests are in flight only the selected rows wait. (Bulk Restart is in ui-vm-list-scale.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { AuditRecord, VirtualMachine } from '../../src/resources/types.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { bridgeNetwork, NS, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { ensureWebBuilt, signIn, textOf } from './ui-support.ts';

const name = (i: number): string => `bulk-${String(i).padStart(2, '0')}`;
const ALL = Array.from({ length: 9 }, (_, k) => name(k + 1));
const LIST = `/ui/namespaces/${NS}/vms`;

const records = async (server: HarrowServer, verb: string): Promise<AuditRecord[]> =>
  (await server.client.list<AuditRecord>('AuditRecord', { namespace: NS })).items.filter(
    (r) => r.spec.verb === verb && r.spec.outcome.code < 400,
  );

const vmsOnServer = async (server: HarrowServer): Promise<Map<string, VirtualMachine>> =>
  new Map(
    (await server.client.list<VirtualMachine>('VirtualMachine', { namespace: NS })).items.map(
      (vm) => [vm.metadata.name, vm],
    ),
  );

const busyRows = (page: Page): Promise<string[]> =>
  page.evaluate<string[]>(
    "[...document.querySelectorAll('tbody tr[data-vm][data-busy]')].map((r) => r.getAttribute('data-vm'))",
  );

describe('web UI: bulk Start, Stop and Delete in the VM list', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    b = await launchBrowser('vm-list-bulk');
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 93),
    );
    for (const vm of ALL)
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine(vm, { runStrategy: 'Halted' }),
      );
    await signIn(b.page, server);
  });

  after(async () => {
    await b?.close();
    await server?.stop();
  });

  /**
   * Selects `chosen`, clicks "<Verb> selected", checks the one confirmation, and confirms while the browser holds the
   * requests; meanwhile exactly the chosen rows are busy. Returns once the requests are released.
   */
  async function bulk(verb: 'Start' | 'Stop' | 'Delete', chosen: string[]): Promise<void> {
    const { page } = b;
    await page.goto(server.url + LIST);
    for (const vm of ALL)
      await page
        .locator(`tr[data-vm="${vm}"]`)
        .waitFor()
        .catch(() => undefined);
    for (const vm of chosen) await page.getByLabel(`Select ${vm}`, { exact: true }).check();
    assert.equal(await textOf(page, 'selected-count'), `${chosen.length} selected`);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const held = new Set<string>();
    const pattern = /\/virtualmachines\/(bulk-\d\d)(\/(start|stop))?$/;
    await page.route(pattern, async (route) => {
      held.add(pattern.exec(route.request().url())![1]!);
      await gate;
      await route.continue();
    });
    try {
      await page.getByRole('button', { name: `${verb} selected`, exact: true }).click();
      const title = `${verb} ${chosen.length} virtual machines`;
      const dialogs = page.getByRole('dialog');
      const dialog = page.getByRole('dialog', { name: `${title}?` });
      await dialog.waitFor();
      assert.equal(await dialogs.count(), 1, 'one confirmation');
      assert.deepEqual(
        (await dialog.getByTestId('confirm-names').locator('li').allTextContents()).sort(),
        [...chosen].sort(),
        'the confirmation names the selected VMs',
      );
      await b.screenshot(`bulk ${verb} confirmation`);
      await dialog.getByRole('button', { name: title }).click();
      await dialog.waitFor({ state: 'hidden' });
      // Six requests in flight at most: the rows whose request the browser holds are busy, the others are not.
      await waitFor(async () => held.size === Math.min(6, chosen.length), {
        message: 'the first requests sent',
      });
      const busy = await waitFor(
        async () => {
          const rows = await busyRows(page);
          return rows.length === held.size ? rows : undefined;
        },
        { message: 'the rows in flight marked busy' },
      );
      assert.deepEqual(busy.sort(), [...held].sort());
      for (const vm of ALL.filter((n) => !chosen.includes(n))) {
        const row = page.locator(`tr[data-vm="${vm}"]`);
        if ((await row.count()) === 0) continue;
        assert.ok(
          await row.getByRole('button', { name: `Delete ${vm}`, exact: true }).isEnabled(),
          `${vm} (not selected) stays usable`,
        );
      }
    } finally {
      release();
    }
    await waitFor(async () => (await busyRows(page)).length === 0, {
      timeoutMs: 60_000,
      message: 'no row busy once every request is answered',
    });
    await page.unroute(pattern);
    assert.deepEqual(
      [...held].sort(),
      [...chosen].sort(),
      'the browser sent a request for each selected VM and no other',
    );
    assert.deepEqual(unexpectedProblems(b.takeConsoleProblems()), [], `console errors: ${verb}`);
  }

  /** The VMs the audit log records `verb` for since `before`, once all of `chosen` are there. */
  async function auditedSince(verb: string, before: AuditRecord[], chosen: string[]) {
    const old = new Set(before.map((r) => r.metadata.name));
    return waitFor(
      async () => {
        const names = (await records(server, verb))
          .filter((r) => !old.has(r.metadata.name))
          .map((r) => r.spec.resource.name)
          .sort();
        return chosen.every((n) => names.includes(n)) ? names : undefined;
      },
      { timeoutMs: 60_000, message: `${verb} audited for ${chosen.join(', ')}` },
    );
  }

  it('starts exactly the selected VMs, after one confirmation', async () => {
    const chosen = ALL.slice(0, 7);
    const before = await records(server, 'start');
    await bulk('Start', chosen);
    assert.deepEqual(await auditedSince('start', before, chosen), [...chosen].sort());
    const vms = await vmsOnServer(server);
    for (const vm of ALL)
      assert.equal(
        vms.get(vm)?.spec.runStrategy,
        chosen.includes(vm) ? 'Always' : 'Halted',
        `${vm}'s run strategy`,
      );
  });

  it('stops exactly the selected VMs, after one confirmation', async () => {
    const chosen = [name(2), name(4), name(6)];
    // Stop is offered for running VMs: wait until the started ones run.
    const { page } = b;
    await page.goto(server.url + LIST);
    for (const vm of chosen)
      await waitFor(
        () =>
          page
            .getByRole('button', { name: `Stop ${vm}`, exact: true })
            .isEnabled()
            .catch(() => false),
        { timeoutMs: 120_000, message: `${vm} running` },
      );
    const before = await records(server, 'stop');
    await bulk('Stop', chosen);
    assert.deepEqual(await auditedSince('stop', before, chosen), [...chosen].sort());
    const vms = await vmsOnServer(server);
    for (const vm of ALL)
      assert.equal(
        vms.get(vm)?.spec.runStrategy,
        chosen.includes(vm) ? 'Halted' : vm <= name(7) ? 'Always' : 'Halted',
        `${vm}'s run strategy`,
      );
  });

  it('deletes exactly the selected VMs, after one confirmation', async () => {
    const chosen = [name(1), name(3), name(8), name(9)];
    const before = await records(server, 'delete');
    await bulk('Delete', chosen);
    assert.deepEqual(await auditedSince('delete', before, chosen), [...chosen].sort());
    const left = await waitFor(
      async () => {
        const names = [...(await vmsOnServer(server)).keys()].sort();
        return names.every((n) => !chosen.includes(n)) ? names : undefined;
      },
      { timeoutMs: 60_000, message: 'the deleted VMs gone from the server' },
    );
    assert.deepEqual(
      left,
      ALL.filter((n) => !chosen.includes(n)),
    );
    const { page } = b;
    await waitFor(
      async () => (await page.locator('tbody tr[data-vm]').count()) === ALL.length - chosen.length,
      { message: 'the list shows the VMs left' },
    );
  });
});
