// What the web UI's operator pages derive: the maintenance window's form and where the admission's causes go, a token
// minted in the browser that the server's authenticator accepts, the disks joined with the VMs that use them, and
// which VMs and disks name an image.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeTokenAuthenticator, tokenIdOf } from '../../src/apiserver/tokens.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type {
  DataVolume,
  PersistentVolumeClaim,
  VirtualMachine,
  VirtualMachineImage,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { diskRows } from '../../web/src/model/disks.ts';
import { imageUsers, sizeText } from '../../web/src/model/images.ts';
import { mintToken, tokenFieldOf, tokenObjectFor } from '../../web/src/model/tokens.ts';
import {
  placeWindowErrors,
  windowFormOf,
  windowPatch,
  windowText,
} from '../../web/src/model/window.ts';

const KEY = 'harrow.io/maintenance-window';

describe('maintenance window form', () => {
  it('reads the annotation into its fields (time zone UTC when left out) and writes it back', () => {
    assert.equal(windowFormOf(undefined), undefined);
    assert.equal(windowFormOf({ [KEY]: 'not json' }), 'unreadable');
    const w = windowFormOf({ [KEY]: '{"schedule":"0 2 * * SUN","duration":"2h"}' });
    assert.deepEqual(w, { schedule: '0 2 * * SUN', duration: '2h', timeZone: 'UTC' });
    assert.equal(windowText(w as never), '0 2 * * SUN, 2h (UTC)');
    const patch = windowPatch({ schedule: ' 30 1 * * * ', duration: '90m', timeZone: '' });
    assert.deepEqual(JSON.parse(patch.metadata.annotations[KEY] as string), {
      schedule: '30 1 * * *',
      duration: '90m',
      timeZone: 'UTC',
    });
    assert.deepEqual(windowPatch(undefined).metadata.annotations, { [KEY]: null });
  });

  it('puts each cause at the field its path names, the rest in a general message', () => {
    const placed = placeWindowErrors('Namespace "a" is invalid', [
      { field: `metadata.annotations[${KEY}].timeZone`, message: 'not an IANA time zone' },
      { field: `metadata.annotations[${KEY}].schedule`, message: 'bad cron' },
      { field: 'metadata.labels', message: 'other' },
    ]);
    assert.deepEqual(placed.fields, { timeZone: 'not an IANA time zone', schedule: 'bad cron' });
    assert.equal(placed.general, 'metadata.labels: other');
    const none = placeWindowErrors('Forbidden: no', []);
    assert.deepEqual(none, { fields: {}, general: 'Forbidden: no' });
  });
});

describe('tokens minted in the browser', () => {
  it('have the CLI form, and the server accepts them by the hash alone', async () => {
    const minted = await mintToken();
    assert.match(minted.token, /^harrow_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(tokenIdOf(minted.token), minted.id);
    const store = await openSqliteStore(':memory:');
    try {
      const object = tokenObjectFor(minted, {
        role: 'operator',
        user: 'olga',
        namespaces: 'a, b',
      });
      assert.deepEqual(object.spec.namespaces, ['a', 'b']);
      assert.ok(!JSON.stringify(object).includes(minted.token.slice(20)), 'no secret sent');
      await store.create(object);
      const user = await storeTokenAuthenticator(store).authenticate(minted.token);
      assert.equal(user?.name, 'olga');
      assert.equal(
        await storeTokenAuthenticator(store).authenticate(`${minted.token}x`),
        undefined,
      );
    } finally {
      await store.close();
    }
    const node = tokenObjectFor(await mintToken(), {
      role: 'node',
      user: 'host-a',
      namespaces: 'x',
    });
    assert.equal(node.spec.user, 'system:node:host-a');
    assert.deepEqual(node.spec.namespaces, []);
    assert.equal(tokenFieldOf('spec.namespaces[0]'), 'namespaces');
    assert.equal(tokenFieldOf('metadata.name'), undefined);
  });
});

const vm = (
  name: string,
  volumes: VirtualMachine['spec']['template']['spec']['volumes'],
): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'default' },
  spec: { template: { spec: { domain: { devices: {} }, volumes } } },
});

const dv = (name: string, source: DataVolume['spec']['source'], owner?: string): DataVolume => ({
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: {
    name,
    namespace: 'default',
    ...(owner
      ? {
          ownerReferences: [
            { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: owner, uid: 'u' },
          ],
        }
      : {}),
  },
  spec: { source, storage: { resources: { requests: { storage: '64Mi' } } } },
});

describe('disks', () => {
  it('lists each claim once with its size, source, node and every VM that uses it', () => {
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'db-root',
        namespace: 'default',
        annotations: {
          'volume.kubernetes.io/selected-node': 'host-a',
          'cdi.kubevirt.io/storage.import.source': 'registry',
          'cdi.kubevirt.io/storage.import.endpoint': 'quay.io/containerdisks/tiny:1',
        },
      },
      spec: { resources: { requests: { storage: '64Mi' } } },
      status: { phase: 'Bound', capacity: { storage: '64Mi' } },
    };
    const bare: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'scratch', namespace: 'default' },
      spec: { resources: { requests: { storage: '1Gi' } } },
    };
    // A running instance still uses a claim its VM's manifest dropped (until it restarts).
    const vmi: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: 'old',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'old', uid: 'u' },
        ],
      },
      spec: {
        domain: { devices: {} },
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'scratch' } }],
      },
    } as VirtualMachineInstance;
    const rows = diskRows(
      [
        dv('db-root', { registry: { url: 'docker://quay.io/containerdisks/tiny:1' } }, 'db'),
        dv('spare', { blank: {} }),
        dv('copy', { pvc: { name: 'db-root' } }),
      ],
      [claim, bare],
      [vm('db', [{ name: 'root', dataVolume: { name: 'db-root' } }]), vm('old', [])],
      [vmi],
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.phase, r.size, r.source, r.node, r.usedBy, r.owner]),
      [
        ['copy', 'Pending', '64Mi', 'copy of default/db-root', undefined, [], undefined],
        ['db-root', 'Bound', '64Mi', 'image quay.io/containerdisks/tiny:1', 'host-a', ['db'], 'db'],
        ['scratch', 'Pending', '1Gi', 'blank', undefined, ['old'], undefined],
        ['spare', 'Pending', '64Mi', 'blank', undefined, [], undefined],
      ],
    );
    assert.equal(rows.find((r) => r.name === 'scratch')?.dataVolume, undefined);
  });
});

describe('images', () => {
  it('says which VMs and disks name an image, by its name or an alias, and its size in words', () => {
    const image = {
      apiVersion: 'harrow.io/v1',
      kind: 'VirtualMachineImage',
      metadata: { name: 'tiny' },
      spec: { aliases: ['quay.io/containerdisks/tiny:1'], source: 'x' },
      status: {
        phase: 'Ready',
        format: 'raw',
        virtualSizeBytes: 1048576,
        boot: 'firmware',
        imported: '',
      },
    } as VirtualMachineImage;
    const users = imageUsers(
      image,
      [
        vm('a', [{ name: 'r', containerDisk: { image: 'tiny' } }]),
        vm('b', [{ name: 'r', containerDisk: { image: 'other' } }]),
      ],
      [
        dv('d1', { registry: { url: 'docker://quay.io/containerdisks/tiny:1' } }),
        dv('d2', { blank: {} }),
      ],
    );
    assert.deepEqual(users, { vms: ['a'], disks: ['d1'] });
    assert.equal(sizeText(1048576), '1 MiB');
    assert.equal(sizeText(1536 * 1024), '1.5 MiB');
    assert.equal(sizeText(512), '512 bytes');
    assert.equal(sizeText(3 * 1024 ** 3), '3 GiB');
  });
});
