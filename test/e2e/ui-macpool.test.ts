// The MAC pool page in Chromium against a real server: the figures the server's status keeps (never recounted by the
// page), a MAC held outside every range explained rather than "0 in use", a usage bar visible at 16 M addresses, and
// the ranges edited from the page with the admission's refusal shown at the field it names.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MacPool } from '../../src/resources/types.ts';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { NS, bridgeNetwork, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { apiGet, apiSend, ensureWebBuilt, signIn, textOf } from './ui-support.ts';

const POOLS = '/apis/harrow.io/v1/macpools';
const VMS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;
const OUTSIDE_MAC = '02:00:00:00:77:01';
const NEW_RANGE = { start: '02:48:53:00:00:00', end: '02:48:53:00:00:ff' };
const en = (v: number): string => v.toLocaleString('en-US');

describe('web UI: the MAC pool page', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;

  const noConsoleErrors = (step: string): void => {
    // The refused save is a real write answered 422 (Chromium logs it); the page showing it is what is tested.
    const problems = unexpectedProblems(b.takeConsoleProblems()).filter(
      (p) => !(p.url.endsWith(`${POOLS}/default`) && /status of 422/.test(p.text)),
    );
    assert.deepEqual(problems, [], `console errors during "${step}"`);
  };

  const poolNow = (): Promise<MacPool> => apiGet<MacPool>(server, `${POOLS}/default`);
  /** The default pool once its status counts what the test set up and has caught up with its spec. */
  const settled = (check: (p: MacPool) => boolean, message: string): Promise<MacPool> =>
    waitFor(
      async () => {
        const p = await poolNow();
        return p.status && p.status.observedGeneration === p.metadata.generation && check(p)
          ? p
          : undefined;
      },
      { timeoutMs: 60_000, message },
    );

  before(async () => {
    ensureWebBuilt();
    server = await startServer({ runtime: 'sim' });
    b = await launchBrowser('macpool', { width: 1366, height: 768 });
    await apiSend(
      server,
      'POST',
      `/apis/k8s.cni.cncf.io/v1/namespaces/${NS}/network-attachment-definitions`,
      bridgeNetwork('lan', 61),
    );
    // One VM takes its MAC from the pool; the other names one outside every range.
    await apiSend(server, 'POST', VMS, virtualMachine('pooled', { runStrategy: 'Halted' }));
    await apiSend(
      server,
      'POST',
      VMS,
      virtualMachine('handpicked', { runStrategy: 'Halted', mac: OUTSIDE_MAC }),
    );
  });

  after(async () => {
    await b?.close();
    await server?.stop();
  });

  it('shows the status figures the server keeps, per pool and per range, and the MAC held outside', async () => {
    const pool = await settled(
      (p) => p.status!.allocated >= 1 && p.status!.outsideRanges >= 1,
      'the default pool counts the pooled VM and the hand-picked MAC',
    );
    const s = pool.status!;
    assert.ok(s.capacity > 16_000_000, `the default pool spans 16 M addresses (${s.capacity})`);
    const { page } = b;
    await signIn(page, server);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'MAC Pool' })
      .click();
    const meter = page.getByRole('meter', { name: 'Usage of default', exact: true });
    await meter.waitFor();
    const totals = `${en(s.allocated)} in use · ${en(s.quarantined)} quarantined · ${en(s.capacity - s.allocated - s.quarantined)} free of ${en(s.capacity)}`;
    const shown = await waitFor(
      async () => {
        const t = await textOf(page, 'pool-default-totals');
        return t.includes(totals) ? t : undefined;
      },
      {
        message: `the totals say "${totals}" as the API does; the page says "${await textOf(page, 'pool-default-totals')}"`,
      },
    );
    assert.equal(await meter.getAttribute('aria-valuenow'), String(s.allocated + s.quarantined));
    assert.equal(await meter.getAttribute('aria-valuemax'), String(s.capacity));
    // One or two addresses in 16 M: the bar still shows a segment a person can see.
    const segment = await meter.locator('.usage-inuse').boundingBox();
    const bar = await meter.boundingBox();
    assert.ok(segment && bar && segment.width >= 4, `in-use segment ${segment?.width}px wide`);
    assert.match(shown, /\(0\.0000\d+ % used\)/);

    const held = `${en(s.outsideRanges)} ${s.outsideRanges === 1 ? 'MAC' : 'MACs'}`;
    assert.ok(
      (await textOf(page, 'pool-default-outside')).startsWith(
        `${held} held outside every pool range`,
      ),
    );
    const rows = page.getByTestId('pool-default-ranges').locator('tbody tr');
    assert.equal(await rows.count(), s.ranges.length);
    const cells = await rows.first().locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 4), [
      `${s.ranges[0]!.start} – ${s.ranges[0]!.end}`,
      en(s.ranges[0]!.capacity),
      en(s.ranges[0]!.allocated),
      en(s.ranges[0]!.quarantined),
    ]);
    assert.equal(await page.getByTestId('pool-default-updating').count(), 0);
    await b.screenshot('pool figures and the MAC held outside');

    await page.getByRole('button', { name: 'Show it', exact: true }).click();
    const allocRows = page.getByRole('table', { name: 'MAC allocations' }).locator('tbody tr');
    await waitFor(async () => (await allocRows.count()) === 1, { message: 'one row left' });
    assert.match((await allocRows.first().textContent()) ?? '', new RegExp(OUTSIDE_MAC));
    await page.getByLabel('State', { exact: true }).selectOption('all');
    noConsoleErrors('figures');
  });

  it('a range the admission refuses shows its message at that field, and the pool is unchanged', async () => {
    const { page } = b;
    const before = await poolNow();
    await page.getByRole('button', { name: 'Edit ranges of default' }).click();
    const form = page.getByRole('form', { name: 'Ranges of default' });
    await form.getByLabel('Range 1 start', { exact: true }).fill('03:48:52:00:00:00');
    await form.getByRole('button', { name: 'Add range' }).click();
    await form.getByLabel('Range 2 start', { exact: true }).fill('02:48:52:00:10:00');
    await form.getByLabel('Range 2 end', { exact: true }).fill('02:48:52:00:00:01');
    await form.getByRole('button', { name: 'Save ranges' }).click();

    // Each message sits in the field the cause names (aria-describedby ties it to that input).
    const describedError = async (label: string): Promise<string> => {
      const input = form.getByLabel(label, { exact: true });
      await waitFor(async () => (await input.getAttribute('aria-invalid')) === 'true', {
        message: `${label} marked invalid`,
      });
      const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(' ');
      const texts = await Promise.all(
        ids.map(async (id) => (await page.locator(`[id="${id}"]`).textContent()) ?? ''),
      );
      return texts.join(' ');
    };
    assert.match(await describedError('Range 1 start'), /03:48:52:00:00:00 is a multicast address/);
    assert.match(await describedError('Range 2 end'), /is before start 02:48:52:00:10:00/);
    assert.equal(
      await form.getByLabel('Range 1 end', { exact: true }).getAttribute('aria-invalid'),
      null,
    );
    await b.screenshot('range refused by the admission');

    const after = await poolNow();
    assert.deepEqual(after.spec, before.spec);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Edit ranges of default' }).waitFor();
    noConsoleErrors('refused edit');
  });

  it('a good edit saves, and the status follows with the new range', async () => {
    const { page } = b;
    const before = await poolNow();
    await page.getByRole('button', { name: 'Edit ranges of default' }).click();
    const form = page.getByRole('form', { name: 'Ranges of default' });
    await form.getByRole('button', { name: 'Add range' }).click();
    await form
      .getByLabel('Range 2 start', { exact: true })
      .fill(NEW_RANGE.start.replaceAll(':', '-'));
    await form.getByLabel('Range 2 end', { exact: true }).fill(NEW_RANGE.end);
    await form.getByRole('button', { name: 'Save ranges' }).click();
    await page.getByText('Ranges saved.').waitFor();

    const pool = await settled(
      (p) => p.spec.ranges.length === 2 && p.status!.ranges.length === 2,
      'the status counts the new range',
    );
    assert.deepEqual(pool.spec.ranges, [...before.spec.ranges, NEW_RANGE]);
    assert.ok(pool.metadata.generation! > before.metadata.generation!);
    const rows = page.getByTestId('pool-default-ranges').locator('tbody tr');
    await waitFor(async () => (await rows.count()) === 2, { message: 'two ranges shown' });
    const cells = await rows.nth(1).locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 2), [
      `${NEW_RANGE.start} – ${NEW_RANGE.end}`,
      en(pool.status!.ranges[1]!.capacity),
    ]);
    await waitFor(async () => (await page.getByTestId('pool-default-updating').count()) === 0, {
      message: 'the page no longer says updating',
    });
    await b.screenshot('range added');

    // Removing it again goes through the same form.
    await page.getByRole('button', { name: 'Edit ranges of default' }).click();
    await form.getByRole('button', { name: 'Remove range 2' }).click();
    await form.getByRole('button', { name: 'Save ranges' }).click();
    await page.getByText('Ranges saved.').waitFor();
    await settled((p) => p.status!.ranges.length === 1, 'back to one range');
    assert.deepEqual((await poolNow()).spec.ranges, before.spec.ranges);
    noConsoleErrors('good edit');
  });
});
