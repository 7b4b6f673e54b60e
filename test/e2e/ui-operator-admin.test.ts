// The operator's admin pages in Chromium against a real `harrow serve` (sim): a namespace created and its maintenance
// window set (the admission's refusal shown at the field, nothing changed), a token created (shown once, works) and
// revoked (then refused by the API), what an operator's token sees of the tokens page, an image of the local store,
// and the persistent disks — which VM uses each and where it lives — with an unused one deleted after a confirmation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImageStore } from '../../src/images/store.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type {
  DataVolume,
  PersistentVolumeClaim,
  VirtualMachine,
} from '../../src/resources/types.ts';
import { launchBrowser, type BrowserSession, type ConsoleProblem } from './browser.ts';
import { bridgeNetwork, NS, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { apiGet, ensureWebBuilt, seriousAxeViolations, signIn } from './ui-support.ts';

const WINDOW_KEY = 'harrow.io/maintenance-window';
const DVS = `/apis/cdi.kubevirt.io/v1beta1/namespaces/${NS}/datavolumes`;

/** A VM with a persistent disk filled from the store's image, as KubeVirt's docs write one. */
function vmWithDisk(name: string): VirtualMachine {
  const vm = virtualMachine(name);
  vm.spec.dataVolumeTemplates = [
    {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: `${name}-root` },
      spec: {
        source: { registry: { url: 'docker://quay.io/containerdisks/tiny:1' } },
        storage: { resources: { requests: { storage: '64Mi' } } },
      },
    },
  ];
  vm.spec.template.spec.domain.devices.disks = [{ name: 'root', disk: { bus: 'virtio' } }];
  vm.spec.template.spec.volumes = [{ name: 'root', dataVolume: { name: `${name}-root` } }];
  return vm;
}

/** What a request with `token` gets from the API (status code only). */
async function statusWith(server: HarrowServer, token: string, path: string): Promise<number> {
  const res = await fetch(server.url + path, { headers: { Authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

describe('web UI: namespaces, tokens, images and disks', { timeout: 600_000 }, () => {
  let server: HarrowServer;
  let b: BrowserSession;
  let imageDir: string;
  /** axe-core's serious or critical findings on the forms and dialogs opened along the way (the pages at rest are in ui-axe). */
  const axe: string[] = [];

  /** Console errors other than the refusals this test provokes on purpose (Chromium logs each 4xx answer). */
  const unexpected = (expected: RegExp[]): ConsoleProblem[] =>
    b.takeConsoleProblems().filter((p) => !expected.some((e) => e.test(`${p.url} ${p.text}`)));

  before(async () => {
    ensureWebBuilt();
    imageDir = mkdtempSync(join(tmpdir(), 'harrow-ui-images-'));
    writeFileSync(join(imageDir, 'tiny.raw'), Buffer.alloc(1024 * 1024));
    await openImageStore(join(imageDir, 'store')).import('tiny', join(imageDir, 'tiny.raw'), {
      aliases: ['quay.io/containerdisks/tiny:1'],
    });
    server = await startServer({ env: { HARROW_IMAGE_DIR: join(imageDir, 'store') } });
    b = await launchBrowser('operator-admin', { width: 1366, height: 768 });
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 74),
    );
    await server.client.create('VirtualMachine', { namespace: NS }, vmWithDisk('db'));
    await server.client.create<DataVolume>(
      'DataVolume',
      { namespace: NS },
      {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'spare', namespace: NS },
        spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '32Mi' } } } },
      },
    );
  });
  after(async () => {
    await b?.close();
    await server?.stop();
    if (imageDir) rmSync(imageDir, { recursive: true, force: true });
  });

  it('creates a namespace and sets its maintenance window, refusals shown at the field', async () => {
    const { page } = b;
    await signIn(page, server);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Namespaces' }).click();
    await page.getByRole('heading', { name: 'Namespaces', level: 1 }).waitFor();
    await page.locator('tr[data-namespace="default"]').waitFor();

    await page.getByRole('button', { name: 'Create namespace' }).click();
    const name = page.getByLabel('Namespace name');
    await name.fill('Team_A');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    // The server's cause for metadata.name, under the field it names.
    await waitFor(async () => (await name.getAttribute('aria-invalid')) === 'true', {
      message: 'the name field marked invalid',
    });
    const nameError = await page.locator('.field-invalid .field-error').textContent();
    assert.match(nameError ?? '', /lower case|lowercase|RFC 1123|DNS/i);
    axe.push(...(await seriousAxeViolations(page, 'create namespace with a refusal')));
    await name.fill('team-a');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('tr[data-namespace="team-a"]').waitFor();
    assert.equal((await apiGet(server, '/api/v1/namespaces/team-a')).metadata.name, 'team-a');
    await b.screenshot('namespace created');

    await page.getByRole('button', { name: 'Edit window of team-a' }).click();
    const editor = page.getByRole('form', { name: 'Maintenance window of team-a' });
    await editor.getByLabel('Schedule (cron)').fill('0 2 * * SUN');
    await editor.getByLabel('Duration').fill('2h');
    await editor.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await editor.getByRole('button', { name: 'Save window' }).click();
    const tz = editor.getByLabel('Time zone');
    await waitFor(async () => (await tz.getAttribute('aria-invalid')) === 'true', {
      message: 'the time zone field marked invalid',
    });
    assert.match(
      (await editor.locator('.field-invalid .field-error').allTextContents()).join(' '),
      /IANA time zone/,
    );
    assert.equal(
      (await editor.getByLabel('Schedule (cron)').getAttribute('aria-invalid')) ?? 'false',
      'false',
      'only the field the server named is marked',
    );
    const refused = await apiGet(server, '/api/v1/namespaces/team-a');
    assert.equal(refused.metadata.annotations?.[WINDOW_KEY], undefined, 'nothing changed');
    await b.screenshot('window refused');
    axe.push(...(await seriousAxeViolations(page, 'window editor with a refusal')));

    await tz.fill('Europe/Berlin');
    await editor.getByRole('button', { name: 'Save window' }).click();
    await waitFor(
      async () =>
        (await page.getByTestId('window-team-a').textContent())?.includes('Europe/Berlin') === true,
      { message: 'the window shown in the list' },
    );
    const ns = await apiGet(server, '/api/v1/namespaces/team-a');
    assert.deepEqual(JSON.parse(ns.metadata.annotations?.[WINDOW_KEY] ?? '{}'), {
      schedule: '0 2 * * SUN',
      duration: '2h',
      timeZone: 'Europe/Berlin',
    });
    assert.deepEqual(
      unexpected([/api\/v1\/namespaces.*status of 422/]),
      [],
      'no console errors but the two refusals',
    );
  });

  it('creates a token shown once, which an operator can use until it is revoked', async () => {
    const { page } = b;
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'API Tokens' }).click();
    await page.getByRole('heading', { name: 'API Tokens', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Create token' }).click();
    const form = page.getByRole('form', { name: 'New API token' });
    await form.getByLabel('Role').selectOption('operator');
    await form.getByLabel('User').fill('olga');
    // No namespace: the server refuses (an operator token needs one), shown at the Namespaces field.
    await form.getByRole('button', { name: 'Create token' }).click();
    const nsField = form.getByLabel('Namespaces');
    await waitFor(async () => (await nsField.getAttribute('aria-invalid')) === 'true', {
      message: 'the namespaces field marked invalid',
    });
    axe.push(...(await seriousAxeViolations(page, 'create token with a refusal')));
    assert.equal(
      (await apiGet<{ items: unknown[] }>(server, '/apis/harrow.io/v1/apitokens')).items.length,
      0,
    );
    await nsField.fill('team-a');
    await form.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByLabel('The new token');
    await secret.waitFor();
    const token = await secret.inputValue();
    assert.match(token, /^harrow_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const id = token.split('_')[1] as string;
    await page.locator(`tr[data-token="${id}"]`).waitFor();
    await b.screenshot('token created');
    axe.push(...(await seriousAxeViolations(page, 'new token shown')));
    const stored = await apiGet<KubeObject & { spec: { user: string; namespaces: string[] } }>(
      server,
      `/apis/harrow.io/v1/apitokens/${id}`,
    );
    assert.equal(stored.spec.user, 'olga');
    assert.deepEqual(stored.spec.namespaces, ['team-a']);
    assert.ok(!JSON.stringify(stored).includes(token.split('_')[2] as string), 'no secret stored');
    assert.equal(await statusWith(server, token, '/api/v1/namespaces/team-a'), 200);
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByLabel('The new token').count(), 0, 'the token is shown once');

    // The same UI signed in with olga's operator token: no tokens link, and the page says the server refuses.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in where it signed out (the tokens page): an operator's token is refused there.
    await page.getByTestId('tokens-refused').waitFor();
    await nav.getByRole('link', { name: 'Namespaces' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'API Tokens' }).count(), 0);
    await page.goto(server.url + '/ui/tokens');
    await page.getByTestId('tokens-refused').waitFor();
    assert.match(await page.getByTestId('tokens-refused').innerText(), /forbidden|olga/i);
    assert.equal(await page.getByRole('button', { name: 'Create token' }).count(), 0);
    await page.goto(server.url + '/ui/namespaces');
    await page.locator('tr[data-namespace="team-a"]').waitFor();
    assert.equal(await page.locator('tr[data-namespace="default"]').count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Create namespace' }).count(), 0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Namespaces', level: 1 }).waitFor();
    // olga's session chose team-a (the only namespace she sees); the rest of the walk is in the default namespace.
    await page.getByLabel('Namespace', { exact: true }).selectOption(NS);

    await nav.getByRole('link', { name: 'API Tokens' }).click();
    await page.getByRole('button', { name: `Revoke token ${id} of olga` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke token ${id}?` });
    await dialog.waitFor();
    await b.screenshot('revoke confirmation');
    axe.push(...(await seriousAxeViolations(page, 'revoke dialog')));
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await waitFor(async () => (await page.locator(`tr[data-token="${id}"]`).count()) === 0, {
      message: 'the revoked token gone from the list',
    });
    assert.equal(await statusWith(server, token, '/api/v1/namespaces/team-a'), 401);
    assert.deepEqual(
      unexpected([/apitokens.*status of 422/, /apitokens.*status of 403/, /status of 401/]),
      [],
    );
  });

  it('shows the image store and the disks, and deletes an unused disk after a confirmation', async () => {
    const { page } = b;
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Images' }).click();
    const image = page.locator('tr[data-image="tiny"]');
    await image.waitFor({ timeout: 30_000 });
    await waitFor(async () => ((await image.textContent()) ?? '').includes('disk db-root'), {
      message: 'the image row names the disk made from it',
    });
    const imageText = (await image.textContent()) ?? '';
    assert.match(imageText, /quay\.io\/containerdisks\/tiny:1/);
    assert.match(imageText, /1 MiB/);

    const claim = await waitFor(
      async () => {
        const c = await server.client
          .get<PersistentVolumeClaim>('PersistentVolumeClaim', { namespace: NS, name: 'db-root' })
          .catch(() => undefined);
        return c?.metadata.annotations?.['volume.kubernetes.io/selected-node'] ? c : undefined;
      },
      { timeoutMs: 120_000, message: "db's disk placed on a node" },
    );
    const node = claim.metadata.annotations?.['volume.kubernetes.io/selected-node'] as string;
    await nav.getByRole('link', { name: 'Disks' }).click();
    const used = page.locator('tr[data-disk="db-root"]');
    await waitFor(async () => ((await used.textContent()) ?? '').includes(node), {
      timeoutMs: 30_000,
      message: 'the disk row names its node',
    });
    const usedText = (await used.textContent()) ?? '';
    assert.match(usedText, /image quay\.io\/containerdisks\/tiny:1/);
    assert.match(await page.getByTestId('disk-db-root-users').innerText(), /db/);
    assert.equal(
      await used.getByRole('button', { name: /Delete/ }).count(),
      0,
      'a used disk offers no delete',
    );
    const spare = page.locator('tr[data-disk="spare"]');
    assert.match((await spare.textContent()) ?? '', /no VM/);
    assert.match((await spare.textContent()) ?? '', /32Mi/);
    await b.screenshot('disks');

    await spare.getByRole('button', { name: 'Delete disk spare' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete disk spare?' });
    await dialog.waitFor();
    axe.push(...(await seriousAxeViolations(page, 'delete disk dialog')));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await apiGet(server, `${DVS}/spare`), 'cancel deletes nothing');
    await spare.getByRole('button', { name: 'Delete disk spare' }).click();
    await dialog.getByRole('button', { name: 'Delete disk' }).click();
    await waitFor(async () => (await spare.count()) === 0, { message: 'the deleted disk gone' });
    await waitFor(
      async () =>
        (await statusWith(server, server.token, `${DVS}/spare`)) === 404 &&
        (await statusWith(
          server,
          server.token,
          `/api/v1/namespaces/${NS}/persistentvolumeclaims/spare`,
        )) === 404,
      { message: 'the DataVolume and its claim deleted' },
    );
    assert.ok(await apiGet(server, `${DVS}/db-root`), 'the used disk stays');
    // olga's session's last requests (a list still under way when she signed out) may meet her revoked token.
    assert.deepEqual(unexpected([/status of 401/]), []);
    assert.deepEqual(
      axe,
      [],
      'no serious or critical accessibility violation on the forms and dialogs',
    );
  });
  it('the Disks, Images, Networks and Audit pages carry their namespace in the address; old addresses redirect; a link is shareable', async () => {
    const { page } = b;
    await server.client.create<DataVolume>(
      'DataVolume',
      { namespace: 'team-a' },
      {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'team-disk', namespace: 'team-a' },
        spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '16Mi' } } } },
      },
    );
    const nsSelect = page.getByLabel('Namespace', { exact: true });
    // The old addresses open the same page in the namespace chosen at the top.
    await page.goto(`${server.url}/ui/namespaces/${NS}/vms`);
    await page.getByRole('heading', { name: 'Virtual Machines', level: 1 }).waitFor();
    const sections = [
      { section: 'disks', title: 'Disks' },
      { section: 'images', title: 'Images' },
      { section: 'networks', title: 'Networks' },
      { section: 'audit', title: 'Audit Log' },
    ];
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const { section, title } of sections) {
      await page.goto(`${server.url}/ui/${section}`);
      await page.waitForURL(new RegExp(`/ui/namespaces/${NS}/${section}$`));
      await page.getByRole('heading', { name: title, level: 1 }).waitFor();
      const link = nav.getByRole('link', { name: title });
      assert.equal(await link.getAttribute('href'), `/ui/namespaces/${NS}/${section}`);
      assert.equal(await link.getAttribute('aria-current'), 'page');
    }
    // The audit log's VM filter comes along.
    await page.goto(`${server.url}/ui/audit?vm=db`);
    await page.waitForURL(new RegExp(`/ui/namespaces/${NS}/audit\\?vm=db$`));
    await page.getByRole('heading', { name: 'Audit Log', level: 1 }).waitFor();

    // A shared link to another namespace's disks, pasted into the address bar (a fresh load of the app, whose namespace
    // chosen at the top is still default), opens that namespace's page.
    await page.goto(`${server.url}/ui/namespaces/team-a/disks`);
    await page.locator('tr[data-disk="team-disk"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('tr[data-disk="db-root"]').count(), 0);
    assert.equal(await nsSelect.inputValue(), 'team-a');
    assert.match((await page.locator('caption').textContent()) ?? '', /team-a/);
    await page.goto(`${server.url}/ui/namespaces/team-a/images`);
    await page.locator('tr[data-image="tiny"]').waitFor();
    assert.match(
      (await page.getByRole('columnheader', { name: /Used in/ }).textContent()) ?? '',
      /Used in team-a/,
    );
    // The image is used by default's disk, not team-a's.
    assert.match((await page.locator('tr[data-image="tiny"]').textContent()) ?? '', /nothing/);
    assert.equal(
      await nav.getByRole('link', { name: 'Disks' }).getAttribute('href'),
      '/ui/namespaces/team-a/disks',
    );
    // A shared link to another namespace's networks: that namespace's, not default's network.
    await page.goto(`${server.url}/ui/namespaces/team-a/networks`);
    await page.getByRole('heading', { name: 'Networks', level: 1 }).waitFor();
    assert.equal(await nsSelect.inputValue(), 'team-a');
    assert.match((await page.locator('caption').textContent()) ?? '', /team-a/);
    assert.equal(
      await nav.getByRole('link', { name: 'Audit Log' }).getAttribute('href'),
      '/ui/namespaces/team-a/audit',
    );

    // Choosing another namespace on the Disks page stays on Disks, in that namespace.
    await page.goto(`${server.url}/ui/namespaces/${NS}/disks`);
    await page.locator('tr[data-disk="db-root"]').waitFor();
    await waitFor(async () => (await nsSelect.locator('option[value="team-a"]').count()) === 1, {
      message: 'team-a offered at the top',
    });
    await nsSelect.selectOption('team-a');
    await page.waitForURL(/\/ui\/namespaces\/team-a\/disks$/);
    await page.locator('tr[data-disk="team-disk"]').waitFor();
    assert.equal(await page.locator('tr[data-disk="db-root"]').count(), 0);
    await nsSelect.selectOption(NS);
    await page.waitForURL(new RegExp(`/ui/namespaces/${NS}/disks$`));
    assert.deepEqual(unexpected([]), []);
  });
});
