// Persistent disks through a real `harrow serve`, on every runtime (sim, and real QEMU with the busybox guest): a VM from
// a KubeVirt manifest with dataVolumeTemplates gets a DataVolume and a claim it owns; bytes written to the disk through
// guest-exec survive a restart; a clone reads the source's bytes from its own copy and its writes stay its own; deleting
// a VM deletes its disk; a DataVolume whose ownerReference was removed is kept.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openImageStore } from '../../src/images/store.ts';
import type {
  DataVolume,
  PersistentVolumeClaim,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import type { VirtualMachineClone } from '../../src/resources/virtualmachineclone.ts';
import { NS, bridgeNetwork, getVmi, runningVmi } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';

/** A VM as KubeVirt's docs write one with a DataVolume template: the busybox guest boots; the disk is /dev/vda. */
function vmWithDisk(
  name: string,
  source: DataVolume['spec']['source'],
  extra: { cloudInit?: string } = {},
): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: {
      runStrategy: 'Always',
      dataVolumeTemplates: [
        {
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'DataVolume',
          metadata: { name: `${name}-data` },
          spec: { source, storage: { resources: { requests: { storage: '64Mi' } } } },
        },
      ],
      template: {
        spec: {
          domain: {
            devices: {
              disks: [
                { name: 'data', disk: { bus: 'virtio' } },
                ...(extra.cloudInit ? [{ name: 'cloudinit', disk: { bus: 'virtio' } }] : []),
              ],
              interfaces: [{ name: 'default', bridge: {} }],
            },
          },
          networks: [{ name: 'default', multus: { networkName: 'lan' } }],
          volumes: [
            { name: 'data', dataVolume: { name: `${name}-data` } },
            ...(extra.cloudInit
              ? [{ name: 'cloudinit', cloudInitNoCloud: { userData: extra.cloudInit } }]
              : []),
          ],
        },
      },
    },
  };
}

for (const rt of runtimesUnderTest()) {
  describe(`persistent disks (${rt.name})`, { skip: rt.skip, concurrency: false }, () => {
    let server: HarrowServer;
    let imageDir: string;
    const wait = <T>(what: string, probe: () => Promise<T | false | undefined>) =>
      waitFor(async () => (await probe()) ?? false, {
        timeoutMs: rt.timeoutMs,
        intervalMs: rt.name === 'sim' ? 50 : 500,
        message: what,
      }) as Promise<T>;
    const get = async <T extends KubeObject>(
      kind: string,
      name: string,
    ): Promise<T | undefined> => {
      try {
        return await server.client.get<T>(kind, { namespace: NS, name });
      } catch {
        return undefined;
      }
    };
    const exec = (vm: string, script: string) =>
      server.client.guestExec(NS, vm, ['sh', '-c', script]);
    const running = (vm: string, notUid?: string) =>
      wait<VirtualMachineInstance>(`${vm} running with its agent`, () =>
        runningVmi(server.client, vm, notUid),
      );
    /** The persistent disks on the host (qemu: the qcow2 files in the runtime's disks dir). */
    const diskFiles = (): string[] => {
      const found: string[] = [];
      const walk = (dir: string): void => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) walk(join(dir, e.name));
          else if (dir.endsWith('/disks') && e.name.endsWith('.qcow2')) found.push(e.name);
        }
      };
      walk(server.dataDir);
      return found.sort();
    };

    before(async () => {
      imageDir = mkdtempSync(join(tmpdir(), 'harrow-pd-images-'));
      writeFileSync(join(imageDir, 'tiny.raw'), Buffer.alloc(1024 * 1024));
      await openImageStore(join(imageDir, 'store')).import('tiny', join(imageDir, 'tiny.raw'), {
        aliases: ['quay.io/containerdisks/tiny:1'],
      });
      server = await startServer({
        runtime: rt.name,
        env: { HARROW_IMAGE_DIR: join(imageDir, 'store') },
      });
      await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 46),
      );
    });
    after(async () => {
      await server?.stop();
      if (imageDir) rmSync(imageDir, { recursive: true, force: true });
    });

    test('a file written to the disk survives a restart; a clone gets its own copy; the disk goes with its VM', async () => {
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        vmWithDisk('pd', { blank: {} }),
      );
      const first = await running('pd');
      const dv = await wait<DataVolume>('DataVolume Succeeded', async () => {
        const d = await get<DataVolume>('DataVolume', 'pd-data');
        return d?.status?.phase === 'Succeeded' && d;
      });
      assert.equal(dv.metadata.ownerReferences?.[0]?.kind, 'VirtualMachine');
      const claim = (await get<PersistentVolumeClaim>('PersistentVolumeClaim', 'pd-data'))!;
      assert.equal(claim.status?.phase, 'Bound');
      if (rt.name === 'qemu') assert.deepEqual(diskFiles(), [`${claim.metadata.uid}.qcow2`]);

      const written = await exec('pd', 'echo harrow-data > /dev/vda && sync');
      assert.equal(written.exitCode, 0, written.stderr);
      await server.client.restart(NS, 'pd');
      await running('pd', first.metadata.uid);
      assert.equal((await exec('pd', 'head -c 11 /dev/vda')).stdout, 'harrow-data');

      const clone: VirtualMachineClone = {
        apiVersion: 'clone.kubevirt.io/v1beta1',
        kind: 'VirtualMachineClone',
        metadata: { name: 'pd-clone', namespace: NS },
        spec: {
          source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'pd' },
          target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'pd2' },
        },
      };
      await server.client.create('VirtualMachineClone', { namespace: NS }, clone);
      await running('pd2');
      const copy = (await get<PersistentVolumeClaim>('PersistentVolumeClaim', 'pd2-pd-data'))!;
      assert.notEqual(copy.metadata.uid, claim.metadata.uid);
      assert.equal(
        (await exec('pd2', 'head -c 11 /dev/vda')).stdout,
        'harrow-data',
        'the copy has the source bytes',
      );
      assert.equal((await exec('pd2', 'echo clone-data! > /dev/vda && sync')).exitCode, 0);
      assert.equal(
        (await exec('pd', 'head -c 11 /dev/vda')).stdout,
        'harrow-data',
        "the clone's write is its own",
      );
      if (rt.name === 'qemu') assert.equal(diskFiles().length, 2);

      await server.client.delete('VirtualMachine', { namespace: NS, name: 'pd2' });
      await wait(
        'the clone VM, its DataVolume, claim and disk gone',
        async () =>
          !(await get('DataVolume', 'pd2-pd-data')) &&
          !(await get('PersistentVolumeClaim', 'pd2-pd-data')) &&
          (rt.name === 'sim' || diskFiles().length === 1),
      );

      // Keep the source's disk: remove the DataVolume's ownerReference, then delete the VM.
      await server.client.jsonPatch('DataVolume', { namespace: NS, name: 'pd-data' }, [
        { op: 'remove', path: '/metadata/ownerReferences' },
      ]);
      await server.client.delete('VirtualMachine', { namespace: NS, name: 'pd' });
      await wait('VMI gone', async () => !(await getVmi(server.client, 'pd')));
      assert.ok(await get('DataVolume', 'pd-data'), 'the kept DataVolume survives');
      assert.equal(
        (await get<PersistentVolumeClaim>('PersistentVolumeClaim', 'pd-data'))?.status?.phase,
        'Bound',
      );
      if (rt.name === 'qemu') assert.deepEqual(diskFiles(), [`${claim.metadata.uid}.qcow2`]);
      await server.client.delete('DataVolume', { namespace: NS, name: 'pd-data' });
      await wait(
        'claim and disk gone with the DataVolume',
        async () =>
          !(await get('PersistentVolumeClaim', 'pd-data')) &&
          (rt.name === 'sim' || diskFiles().length === 0),
      );
    });

    test(
      'a clone of a VM with a disk from an image gets its own cloud-init instance-id',
      {
        skip:
          rt.name === 'qemu'
            ? 'the tiny image does not boot a real guest; the sim models the root disk'
            : false,
      },
      async () => {
        await server.client.create(
          'VirtualMachine',
          { namespace: NS },
          vmWithDisk(
            'img',
            { registry: { url: 'docker://quay.io/containerdisks/tiny:1' } },
            { cloudInit: '#cloud-config\n' },
          ),
        );
        await running('img');
        const idOf = async (vm: string) =>
          (await exec(vm, 'cat /var/lib/cloud/data/instance-id')).stdout.trim();
        const source = await server.client.get<VirtualMachine>('VirtualMachine', {
          namespace: NS,
          name: 'img',
        });
        // The VM's uid, then the digest of the network-config Harrow generated (no networkData was given).
        const ofVm = (uid: string | undefined) => new RegExp(`^${uid}-[0-9a-f]{12}$`);
        assert.match(await idOf('img'), ofVm(source.metadata.uid));
        await server.client.create(
          'VirtualMachineClone',
          { namespace: NS },
          {
            apiVersion: 'clone.kubevirt.io/v1beta1',
            kind: 'VirtualMachineClone',
            metadata: { name: 'img-clone', namespace: NS },
            spec: {
              source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'img' },
              target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'img2' },
            },
          },
        );
        await running('img2');
        const target = await server.client.get<VirtualMachine>('VirtualMachine', {
          namespace: NS,
          name: 'img2',
        });
        assert.match(
          await idOf('img2'),
          ofVm(target.metadata.uid),
          "cloud-init ran again in the clone, with the clone's id",
        );
        assert.notEqual(target.metadata.uid, source.metadata.uid);
        await server.client.delete('VirtualMachine', { namespace: NS, name: 'img2' });
        await server.client.delete('VirtualMachine', { namespace: NS, name: 'img' });
      },
    );
  });
}
