// KubeVirt disks and volumes at admission, and the guest disks a VMI's volumes become.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bootOrdered,
  planGuestDisks,
  type ImageResolver,
} from '../../src/controllers/guest-disks.ts';
import type { ResolvedImage } from '../../src/images/store.ts';
import type { StatusCause } from '../../src/resources/errors.ts';
import type {
  Disk,
  PersistentVolumeClaim,
  VirtualMachineInstance,
  Volume,
  VMISpec,
} from '../../src/resources/types.ts';
import { quantityToBytes, validateDisksAndVolumes } from '../../src/resources/volumes.ts';
import {
  validateDataVolumeTemplates,
  validatePersistentVolumeClaim,
} from '../../src/resources/datavolume.ts';
import type { Invalid } from '../../src/resources/errors.ts';

const P = 'spec.template.spec';
const spec = (disks: unknown[], volumes: unknown[]): VMISpec =>
  ({ domain: { devices: { disks } }, volumes }) as unknown as VMISpec;
const fields = (causes: StatusCause[]): string[] => causes.map((c) => c.field);

describe('disk and volume admission', () => {
  it("accepts KubeVirt's containerDisk + cloudInitNoCloud pair", () => {
    const causes = validateDisksAndVolumes(
      spec(
        [
          { name: 'containerdisk', disk: { bus: 'virtio' }, bootOrder: 1 },
          { name: 'cloudinitdisk', disk: {} },
        ],
        [
          { name: 'containerdisk', containerDisk: { image: 'quay.io/containerdisks/debian:12' } },
          {
            name: 'cloudinitdisk',
            cloudInitNoCloud: { userDataBase64: Buffer.from('#cloud-config\n').toString('base64') },
          },
        ],
      ),
      P,
    );
    assert.deepEqual(causes, []);
  });

  it('names the field of a volume without a disk and of a disk without a volume', () => {
    const causes = validateDisksAndVolumes(
      spec([{ name: 'root' }], [{ name: 'data', emptyDisk: { capacity: '1Gi' } }]),
      P,
    );
    assert.deepEqual(fields(causes).sort(), [
      `${P}.domain.devices.disks[0].name`,
      `${P}.volumes[0].name`,
    ]);
  });

  it('refuses two disks with one boot order, naming the second', () => {
    const causes = validateDisksAndVolumes(
      spec(
        [
          { name: 'a', bootOrder: 1 },
          { name: 'b', bootOrder: 1 },
        ],
        [
          { name: 'a', containerDisk: { image: 'x' } },
          { name: 'b', containerDisk: { image: 'y' } },
        ],
      ),
      P,
    );
    assert.deepEqual(fields(causes), [`${P}.domain.devices.disks[1].bootOrder`]);
    assert.match(causes[0]!.message, /already used by disk "a"/);
  });

  it('refuses a size that is not a quantity, a missing image, two sources and unsupported sources', () => {
    const causes = validateDisksAndVolumes(
      spec(
        [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }, { name: 'e' }],
        [
          { name: 'a', emptyDisk: { capacity: 'lots' } },
          { name: 'b', containerDisk: {} },
          { name: 'c', containerDisk: { image: 'x' }, emptyDisk: { capacity: '1Gi' } },
          { name: 'd', hostDisk: { path: '/etc' } },
          { name: 'e', cloudInitNoCloud: { secretRef: { name: '' } } },
        ],
      ),
      P,
    );
    assert.deepEqual(fields(causes), [
      `${P}.volumes[0].emptyDisk.capacity`,
      `${P}.volumes[1].containerDisk.image`,
      `${P}.volumes[2]`,
      `${P}.volumes[3].hostDisk`,
      `${P}.volumes[4].cloudInitNoCloud.secretRef.name`,
    ]);
  });

  it("accepts KubeVirt's cloudInitNoCloud secretRef (a KubeVirt manifest applies unchanged; the VMI then waits)", () => {
    const causes = validateDisksAndVolumes(
      spec([{ name: 'e' }], [{ name: 'e', cloudInitNoCloud: { secretRef: { name: 's' } } }]),
      P,
    );
    assert.deepEqual(causes, []);
  });

  it('reads Kubernetes quantities as bytes', () => {
    assert.equal(quantityToBytes('1Gi'), 1024 ** 3);
    assert.equal(quantityToBytes('500M'), 500e6);
    assert.equal(quantityToBytes('10'), 10);
    assert.equal(quantityToBytes('1GB'), undefined);
  });
});

const image = (name: string, boot: ResolvedImage['boot']): ResolvedImage => ({
  name,
  aliases: [`quay.io/containerdisks/${name}:1`],
  format: 'raw',
  file: `${name}.raw`,
  path: `/images/${name}.raw`,
  virtualSizeBytes: 1024 ** 3,
  boot,
  source: 'test',
  created: '2026-12-04T00:00:00Z',
});
const resolver = (images: ResolvedImage[]): ImageResolver => ({
  resolve: async (ref) => images.find((i) => i.name === ref || i.aliases.includes(ref)),
});
const vmi = (disks: Disk[], volumes: Volume[]): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: {
    name: 'vm1',
    namespace: 'default',
    uid: 'vmi-uid',
    ownerReferences: [
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm1', uid: 'vm-uid' },
    ],
  },
  spec: { domain: { devices: { disks } }, volumes },
});

describe('guest disks of a VMI', () => {
  const kernelBoot = {
    type: 'kernel' as const,
    kernel: '/boot/k',
    initrd: '/boot/i',
    append: 'root=/dev/vda',
  };

  it("puts the boot image first, boots it as the image says, and seeds cloud-init with the VM's uid", async () => {
    const plan = await planGuestDisks(
      vmi(
        [{ name: 'cloudinit' }, { name: 'root' }, { name: 'scratch' }],
        [
          { name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config\n' } },
          { name: 'root', containerDisk: { image: 'quay.io/containerdisks/debian:1' } },
          { name: 'scratch', emptyDisk: { capacity: '2Gi' } },
        ],
      ),
      resolver([image('debian', kernelBoot)]),
    );
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.disks.map((d) => [d.name, d.source.type]),
      [
        ['root', 'containerDisk'],
        ['cloudinit', 'cloudInitNoCloud'],
        ['scratch', 'emptyDisk'],
      ],
    );
    assert.deepEqual(plan.boot, kernelBoot);
    const seed = plan.disks[1]!.source;
    assert.ok(seed.type === 'cloudInitNoCloud');
    assert.match(seed.metaData, /^instance-id: "vm-uid"$/m);
    assert.match(seed.metaData, /^local-hostname: "vm1"$/m);
  });

  it('an image not in the store: not ok, naming the image and the import command', async () => {
    const plan = await planGuestDisks(
      vmi(
        [{ name: 'root' }],
        [{ name: 'root', containerDisk: { image: 'registry.example/os:9' } }],
      ),
      resolver([]),
    );
    assert.equal(plan.ok, false);
    assert.ok(!plan.ok);
    assert.equal(plan.problems[0]!.reason, 'ImageNotFound');
    assert.match(plan.problems[0]!.message, /registry\.example\/os:9.*harrow image import/);
  });

  it('orders by bootOrder first, then as listed', () => {
    assert.deepEqual(
      bootOrdered([{ name: 'a' }, { name: 'b', bootOrder: 2 }, { name: 'c', bootOrder: 1 }]).map(
        (d) => d.name,
      ),
      ['c', 'b', 'a'],
    );
  });
});

describe('DataVolume and PersistentVolumeClaim admission', () => {
  it("accepts CDI's blank, registry, pvc and DataSource forms as KubeVirt manifests write them", () => {
    const size = { resources: { requests: { storage: '10Gi' } } };
    assert.deepEqual(
      validateDataVolumeTemplates([
        { metadata: { name: 'a' }, spec: { source: { blank: {} }, storage: size } },
        {
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'DataVolume',
          metadata: { name: 'b' },
          spec: {
            source: { registry: { url: 'docker://quay.io/containerdisks/debian:12' } },
            pvc: { accessModes: ['ReadWriteOnce'], ...size },
          },
        },
        { metadata: { name: 'c' }, spec: { source: { pvc: { name: 'a' } }, storage: {} } },
        {
          metadata: { name: 'd' },
          spec: { sourceRef: { kind: 'DataSource', name: 'fedora' }, storage: {} },
        },
      ]),
      [],
    );
  });

  it('names the field of a size that is not a quantity, a missing size, a bad URL, two sources and a duplicate', () => {
    const causes = validateDataVolumeTemplates([
      {
        metadata: { name: 'a' },
        spec: { source: { blank: {} }, storage: { resources: { requests: { storage: 'lots' } } } },
      },
      { metadata: { name: 'a' }, spec: { source: { blank: {} }, storage: {} } },
      {
        metadata: { name: 'c' },
        spec: {
          source: { registry: { url: 'quay.io/x' } },
          storage: { resources: { requests: { storage: '1Gi' } } },
        },
      },
      {
        metadata: { name: 'd' },
        spec: {
          source: { blank: {}, upload: {} },
          storage: { resources: { requests: { storage: '1Gi' } } },
        },
      },
    ]);
    assert.deepEqual(fields(causes), [
      'spec.dataVolumeTemplates[0].spec.storage.resources.requests.storage',
      'spec.dataVolumeTemplates[1].metadata.name',
      'spec.dataVolumeTemplates[1].spec.storage.resources.requests.storage',
      'spec.dataVolumeTemplates[2].spec.source.registry.url',
      'spec.dataVolumeTemplates[3].spec.source',
    ]);
    assert.match(causes[0]?.message ?? '', /"lots": must be a quantity/);
  });

  it('a PersistentVolumeClaim needs a size that is a quantity', () => {
    const pvc = (storage: unknown) =>
      ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'p' },
        spec: { resources: { requests: { storage } } },
      }) as unknown as PersistentVolumeClaim;
    assert.doesNotThrow(() => validatePersistentVolumeClaim(pvc('1Gi')));
    assert.throws(
      () => validatePersistentVolumeClaim(pvc('1 gig')),
      (e: Invalid) =>
        e.details.causes?.[0]?.field === 'spec.resources.requests.storage' &&
        /PersistentVolumeClaim "p" is invalid/.test(e.message),
    );
    assert.throws(() => validatePersistentVolumeClaim(pvc(undefined)), /is required/);
  });

  it('a dataVolume volume naming no DataVolume is accepted: the VMI waits, saying what is missing', async () => {
    const vmi = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'v', namespace: 'default', uid: 'u1' },
      spec: {
        domain: { devices: { disks: [{ name: 'd' }] } },
        volumes: [{ name: 'd', dataVolume: { name: 'nowhere' } }],
      },
    } as unknown as VirtualMachineInstance;
    assert.deepEqual(validateDisksAndVolumes(vmi.spec, 'spec'), []);
    const plan = await planGuestDisks(vmi, undefined, {
      nodeName: 'n',
      claim: async () => undefined,
      dataVolumeExists: async () => false,
    });
    assert.equal(plan.ok, false);
    if (!plan.ok) {
      assert.equal(plan.problems[0]?.reason, 'DataVolumeNotFound');
      assert.match(plan.problems[0]?.message ?? '', /DataVolume default\/nowhere does not exist/);
    }
  });
});
