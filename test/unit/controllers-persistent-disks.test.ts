// Persistent disks on the sim runtime, end to end through the controllers: a VM's dataVolumeTemplates become a
// DataVolume and a claim it owns, the claim's disk is made on the node of its first consumer, what the guest writes there
// survives a restart, the disk goes with the VM, and a DataVolume whose ownerReference was removed is kept.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControllers, type RunningControllers } from '../../src/controllers/index.ts';
import { openImageStore } from '../../src/images/store.ts';
import type {
  DataVolume,
  PersistentVolumeClaim,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { createSimRuntime, type SimRuntime } from '../../src/runtime/sim/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';
import { counterMacAssigner, vmManifest, waitFor } from './controllers-harness.ts';

const ns = 'default';

function withDisk(
  name: string,
  source: DataVolume['spec']['source'],
  extra: { cloudInit?: string } = {},
): VirtualMachine {
  const vm = vmManifest(name);
  const spec = vm.spec.template.spec;
  spec.domain.devices.disks = [
    { name: 'data', disk: { bus: 'virtio' } },
    ...(extra.cloudInit ? [{ name: 'cloudinit', disk: { bus: 'virtio' } }] : []),
  ];
  spec.volumes = [
    { name: 'data', dataVolume: { name: `${name}-data` } },
    ...(extra.cloudInit
      ? [{ name: 'cloudinit', cloudInitNoCloud: { userData: extra.cloudInit } }]
      : []),
  ];
  vm.spec.dataVolumeTemplates = [
    {
      metadata: { name: `${name}-data` },
      spec: { source, storage: { resources: { requests: { storage: '64Mi' } } } },
    },
  ];
  return vm;
}

describe('persistent disks (sim)', () => {
  let store: ResourceStore;
  let runtime: SimRuntime;
  let controllers: RunningControllers;
  let imageDir: string;

  before(async () => {
    imageDir = await mkdtemp(join(tmpdir(), 'harrow-pd-'));
    const images = openImageStore(join(imageDir, 'store'));
    await writeFile(join(imageDir, 'tiny.raw'), Buffer.alloc(4096));
    await images.import('tiny', join(imageDir, 'tiny.raw'), {
      aliases: ['quay.io/containerdisks/tiny:1'],
      boot: { type: 'firmware' },
    });
    store = await openSqliteStore(':memory:');
    runtime = createSimRuntime({ bootMs: 10 });
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    controllers = await startControllers({
      store,
      runtime,
      macAssigner: counterMacAssigner(store),
      nodeName: 'node-1',
      observerPollMs: 500,
      imageStore: images,
    });
  });
  after(async () => {
    await controllers?.stop();
    await runtime?.close();
    await store?.close();
    await rm(imageDir, { recursive: true, force: true });
  });

  const get = async <T>(kind: string, name: string): Promise<T | undefined> =>
    (await store.get({ kind, namespace: ns, name })) as T | undefined;

  /** The VMI of `vm` once its guest agent answers (a new one when `notUid` is given). */
  const runningVmi = (vm: string, notUid?: string) =>
    waitFor(
      `VMI ${vm} running with its agent`,
      async () => {
        const vmi = await get<VirtualMachineInstance>('VirtualMachineInstance', vm);
        const uid = vmi?.metadata.uid;
        if (!uid || uid === notUid || vmi.status?.phase !== 'Running') return undefined;
        return (await runtime.observe(uid))?.agent ? vmi : undefined;
      },
      15_000,
    );
  const exec = async (vmi: VirtualMachineInstance, script: string) =>
    runtime.exec(vmi.metadata.uid ?? '', ['sh', '-c', script]);

  it('a blank DataVolume from a template: owned by the VM, Bound on first start, written bytes survive a restart, gone with the VM', async () => {
    await store.create(withDisk('vm-a', { blank: {} }));
    const vmi = await runningVmi('vm-a');
    const dv = await get<DataVolume>('DataVolume', 'vm-a-data');
    const vm = await get<VirtualMachine>('VirtualMachine', 'vm-a');
    assert.equal(dv?.metadata.ownerReferences?.[0]?.uid, vm?.metadata.uid);
    const claim = await waitFor('claim Bound', async () => {
      const c = await get<PersistentVolumeClaim>('PersistentVolumeClaim', 'vm-a-data');
      return c?.status?.phase === 'Bound' ? c : undefined;
    });
    assert.equal(claim.status?.capacity?.storage, '64Mi');
    assert.equal(claim.metadata.ownerReferences?.[0]?.kind, 'DataVolume');
    await waitFor('DataVolume Succeeded', async () =>
      (await get<DataVolume>('DataVolume', 'vm-a-data'))?.status?.phase === 'Succeeded'
        ? true
        : undefined,
    );
    assert.deepEqual(await runtime.listDisks(), [claim.metadata.uid]);

    const write = await exec(vmi, 'echo harrow-data > /dev/vda && sync');
    assert.equal(write.exitCode, 0, write.stderr);
    await store.delete({ kind: 'VirtualMachineInstance', namespace: ns, name: 'vm-a' });
    const again = await runningVmi('vm-a', vmi.metadata.uid);
    const read = await exec(again, 'head -c 11 /dev/vda');
    assert.equal(
      read.stdout,
      'harrow-data',
      'the bytes written before the restart are on the disk',
    );

    await store.delete({ kind: 'VirtualMachine', namespace: ns, name: 'vm-a' });
    await waitFor('DataVolume, claim and disk gone with the VM', async () =>
      !(await get('DataVolume', 'vm-a-data')) &&
      !(await get('PersistentVolumeClaim', 'vm-a-data')) &&
      (await runtime.listDisks()).length === 0
        ? true
        : undefined,
    );
  });

  it('a DataVolume whose ownerReference was removed is kept, with its disk, when the VM is deleted', async () => {
    await store.create(withDisk('vm-k', { blank: {} }));
    const vmi = await runningVmi('vm-k');
    assert.equal((await exec(vmi, 'echo kept > /dev/vda')).exitCode, 0);
    const dv = (await get<DataVolume>('DataVolume', 'vm-k-data'))!;
    delete dv.metadata.ownerReferences;
    await store.update(dv);
    const claim = (await get<PersistentVolumeClaim>('PersistentVolumeClaim', 'vm-k-data'))!;
    await store.delete({ kind: 'VirtualMachine', namespace: ns, name: 'vm-k' });
    await waitFor('VMI gone', async () =>
      (await get('VirtualMachineInstance', 'vm-k')) ? undefined : true,
    );
    await controllers.waitForIdle();
    assert.ok(await get('DataVolume', 'vm-k-data'), 'the DataVolume is kept');
    assert.ok(await get('PersistentVolumeClaim', 'vm-k-data'), 'its claim is kept');
    assert.ok((await runtime.listDisks()).includes(claim.metadata.uid ?? ''), 'its disk is kept');

    // A new VM naming the kept DataVolume finds the data (its template does not replace an existing DataVolume).
    await store.create(withDisk('vm-k', { blank: {} }));
    const reused = await runningVmi('vm-k');
    assert.equal((await exec(reused, 'head -c 4 /dev/vda')).stdout, 'kept');
    await store.delete({ kind: 'VirtualMachine', namespace: ns, name: 'vm-k' });
    await store.delete({ kind: 'DataVolume', namespace: ns, name: 'vm-k-data' });
    await waitFor('disk gone once the kept DataVolume is deleted', async () =>
      (await runtime.listDisks()).includes(claim.metadata.uid ?? '') ? undefined : true,
    );
  });

  it('a disk from an image is the root: files and cloud-init state survive a restart, cloud-init runs once per instance', async () => {
    const cloudInit = '#cloud-config\nwrite_files:\n  - path: /etc/hello\n    content: "hi\\n"\n';
    await store.create(
      withDisk(
        'vm-r',
        { registry: { url: 'docker://quay.io/containerdisks/tiny:1' } },
        { cloudInit },
      ),
    );
    const vmi = await runningVmi('vm-r');
    assert.equal((await exec(vmi, 'cat /etc/hello')).stdout, 'hi\n');
    assert.equal((await exec(vmi, 'rm /etc/hello && touch /root/marker')).exitCode, 0);
    await store.delete({ kind: 'VirtualMachineInstance', namespace: ns, name: 'vm-r' });
    const again = await runningVmi('vm-r', vmi.metadata.uid);
    assert.equal(
      (await exec(again, 'cat /root/marker')).exitCode,
      0,
      'the file written is still there',
    );
    assert.equal(
      (await exec(again, 'cat /etc/hello')).exitCode,
      1,
      'cloud-init did not run again for the same instance-id',
    );
    await store.delete({ kind: 'VirtualMachine', namespace: ns, name: 'vm-r' });
    await waitFor('disk gone', async () =>
      (await runtime.listDisks()).length === 0 ? true : undefined,
    );
  });

  it('an image that is not in the store: the DataVolume and the VMI wait, each saying which image', async () => {
    await store.create(withDisk('vm-m', { registry: { url: 'docker://example.org/missing:1' } }));
    const dv = await waitFor('DataVolume says ImageNotFound', async () => {
      const d = await get<DataVolume>('DataVolume', 'vm-m-data');
      return d?.status?.conditions?.some((c) => c.reason === 'ImageNotFound') ? d : undefined;
    });
    assert.match(
      dv.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      /example\.org\/missing:1/,
    );
    const vmi = await waitFor('VMI VolumesReady=False', async () => {
      const v = await get<VirtualMachineInstance>('VirtualMachineInstance', 'vm-m');
      const c = v?.status?.conditions?.find((x) => x.type === 'VolumesReady');
      return c?.status === 'False' && c.message?.includes('missing') ? v : undefined;
    });
    assert.match(
      vmi.status?.conditions?.find((c) => c.type === 'VolumesReady')?.message ?? '',
      /vm-m-data.*example\.org\/missing:1/,
    );
    await store.delete({ kind: 'VirtualMachine', namespace: ns, name: 'vm-m' });
  });
});
