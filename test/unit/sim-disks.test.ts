// The sim runtime's disks as a user sees them: cloud-init's files are there after boot, a containerDisk root keeps
// writes through an in-guest reboot and loses them when the guest stops, as KubeVirt's ephemeral disks do.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createSimRuntime } from '../../src/runtime/sim/index.ts';
import type { GuestSpec, NetworkSpec } from '../../src/runtime/types.ts';

const network: NetworkSpec = {
  id: 'disks',
  name: 'default/disks',
  cidr: '198.18.77.0/24',
  gateway: '198.18.77.1',
  dhcpRange: { start: '198.18.77.10', end: '198.18.77.20' },
};

const spec = (n: number): GuestSpec => ({
  vmiUid: `vmi-${n}`,
  podUid: 'pod-1',
  namespace: 'default',
  name: 'deb',
  cpus: 1,
  memoryMiB: 384,
  nics: [
    { name: 'default', mac: '02:00:00:00:77:01', podInterfaceName: 'eth0', networkId: 'disks' },
  ],
  disks: [
    {
      name: 'containerdisk',
      source: {
        type: 'containerDisk',
        image: 'debian-12',
        file: '/images/debian-12.raw',
        format: 'raw',
      },
    },
    {
      name: 'cloudinitdisk',
      source: {
        type: 'cloudInitNoCloud',
        userData: '#cloud-config\nwrite_files:\n  - path: /etc/hello\n    content: "hi\\n"\n',
        metaData: 'instance-id: "vm-uid-1"\nlocal-hostname: "deb"\n',
      },
    },
  ],
});

describe('sim guest disks', () => {
  const rt = createSimRuntime({ bootMs: 5 });
  after(() => rt.close());

  const agent = async (vmiUid: string): Promise<void> => {
    for (let i = 0; i < 400 && !(await rt.observe(vmiUid))?.agent; i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.ok((await rt.observe(vmiUid))?.agent, `${vmiUid} booted`);
  };
  const cat = async (vmiUid: string, path: string) => rt.exec(vmiUid, ['cat', path]);

  it('cloud-init wrote its files; a write survives an in-guest reboot and not a stop', async () => {
    await rt.ensureNetwork(network);
    await rt.setupPod({
      podUid: 'pod-1',
      namespace: 'default',
      podName: 'virt-launcher-deb-abcde',
      interfaces: [
        {
          name: 'default',
          network,
          podInterfaceName: 'eth0',
          mac: '02:00:00:00:77:01',
          binding: 'bridge',
        },
      ],
    });
    await rt.startGuest(spec(1));
    await agent('vmi-1');
    assert.equal((await cat('vmi-1', '/etc/hello')).stdout, 'hi\n');
    assert.equal((await cat('vmi-1', '/var/lib/cloud/data/instance-id')).stdout, 'vm-uid-1\n');
    assert.equal((await rt.exec('vmi-1', ['touch', '/root/marker'])).exitCode, 0);
    await rt.exec('vmi-1', ['reboot']);
    await agent('vmi-1');
    assert.equal((await cat('vmi-1', '/root/marker')).exitCode, 0, 'kept through a reboot');
    await rt.stopGuest('vmi-1');
    await rt.startGuest(spec(2));
    await agent('vmi-2');
    const marker = await cat('vmi-2', '/root/marker');
    assert.equal(marker.exitCode, 1, 'a new VMI boots a fresh copy of the image');
    assert.match(marker.stderr, /No such file/);
    assert.equal((await cat('vmi-2', '/etc/hello')).stdout, 'hi\n');
  });
});
