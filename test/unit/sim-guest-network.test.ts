// The sim guest's own network configuration, as a Debian guest's: a MAC its OS sets at boot survives a restart; a
// network-config bound to a MAC leaves a NIC with another MAC unconfigured; cloud-init renders it once per instance-id.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createSimRuntime } from '../../src/runtime/sim/index.ts';
import { bootNetworkPlan, parseNetworkConfig } from '../../src/runtime/sim/guest-network.ts';
import type { GuestDisk, GuestSpec, NetworkSpec } from '../../src/runtime/types.ts';

const network: NetworkSpec = {
  id: 'osnet',
  name: 'default/osnet',
  cidr: '198.18.78.0/24',
  gateway: '198.18.78.1',
  dhcpRange: { start: '198.18.78.10', end: '198.18.78.20' },
};
const ROGUE = '02:aa:bb:cc:dd:ee';

describe('the sim guest configures its network from its own files', () => {
  const rt = createSimRuntime({ bootMs: 5 });
  after(() => rt.close());
  let pods = 0;

  const agent = async (vmiUid: string): Promise<void> => {
    for (let i = 0; i < 400 && !(await rt.observe(vmiUid))?.agent; i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.ok((await rt.observe(vmiUid))?.agent, `${vmiUid} booted`);
  };
  /** A pod with one NIC of `mac` and a guest booting `disks`; resolves when its agent is up. */
  const boot = async (vmiUid: string, mac: string, disks: GuestDisk[]): Promise<void> => {
    const podUid = `pod-${++pods}`;
    await rt.ensureNetwork(network);
    await rt.setupPod({
      podUid,
      namespace: 'default',
      podName: `virt-launcher-${vmiUid}`,
      interfaces: [{ name: 'default', network, podInterfaceName: 'eth0', mac, binding: 'bridge' }],
    });
    const spec: GuestSpec = {
      vmiUid,
      podUid,
      namespace: 'default',
      name: vmiUid,
      cpus: 1,
      memoryMiB: 384,
      nics: [{ name: 'default', mac, podInterfaceName: 'eth0', networkId: network.id }],
      disks,
    };
    await rt.startGuest(spec);
    await agent(vmiUid);
  };
  const stop = async (vmiUid: string): Promise<void> => {
    await rt.stopGuest(vmiUid);
    const pod = `pod-${pods}`;
    await rt.teardownPod(pod);
  };
  const link = async (vmiUid: string) => (await rt.observe(vmiUid))?.agent?.interfaces[0];
  const persistentRoot = async (id: string): Promise<GuestDisk> => {
    await rt.createDisk({
      id,
      capacityBytes: 1024 ** 2,
      content: { type: 'image', image: 'debian-12', file: '/images/debian.raw', format: 'raw' },
    });
    return { name: 'root', source: { type: 'persistentVolumeClaim', diskId: id } };
  };
  const seed = (instanceId: string, networkData?: string): GuestDisk => ({
    name: 'cloudinit',
    source: {
      type: 'cloudInitNoCloud',
      userData: '',
      metaData: `instance-id: "${instanceId}"\n`,
      ...(networkData !== undefined ? { networkData } : {}),
    },
  });

  it('a MAC pinned with ifupdown hwaddress comes back after a restart, and its frames get no lease', async () => {
    const root = await persistentRoot('pin-hw');
    await boot('hw-1', '02:00:00:00:78:01', [root]);
    assert.match((await link('hw-1'))?.ipAddresses[0] ?? '', /^198\.18\.78\./, 'DHCP by default');
    const write = await rt.exec('hw-1', [
      'sh',
      '-c',
      `printf 'auto lo\\niface lo inet loopback\\nauto eth0\\niface eth0 inet dhcp\\n    hwaddress ether ${ROGUE}\\n' > /etc/network/interfaces`,
    ]);
    assert.equal(write.exitCode, 0, write.stderr);
    await stop('hw-1');
    await boot('hw-2', '02:00:00:00:78:01', [root]);
    const nic = (await rt.observe('hw-2'))?.nics[0];
    assert.equal(nic?.deviceMac, '02:00:00:00:78:01');
    assert.equal(nic?.guestMac, ROGUE, 'the guest set its own MAC at boot');
    assert.deepEqual((await link('hw-2'))?.ipAddresses, [], 'the spoof check drops its DHCP');
    const found = await rt.exec('hw-2', [
      'grep',
      '-rnisF',
      ROGUE,
      '/etc/network/interfaces',
      '/etc/systemd/network',
    ]);
    assert.equal(found.stdout, `/etc/network/interfaces:5:    hwaddress ether ${ROGUE}\n`);
    await stop('hw-2');
  });

  it('a systemd .link file with MACAddress= sets the MAC of the NIC it matches', () => {
    const files = new Map([
      [
        '/etc/systemd/network/10-pin.link',
        `[Match]\nOriginalName=eth*\n\n[Link]\nMACAddress=${ROGUE}\n`,
      ],
    ]);
    assert.deepEqual(bootNetworkPlan(files, [{ kernelName: 'eth0', mac: '02:00:00:00:00:01' }]), [
      { name: 'eth0', mac: ROGUE, dhcp: true },
    ]);
  });

  it('cloud-init network-config matched on a MAC: configured on that MAC, unconfigured on another, rendered again for a new instance-id', async () => {
    const config = (mac: string) =>
      `version: 2\nethernets:\n  id0:\n    match:\n      macaddress: "${mac}"\n    set-name: lan0\n    dhcp4: true\n`;
    assert.deepEqual(parseNetworkConfig(config('02:00:00:00:78:05')), [
      { name: 'lan0', matchMac: '02:00:00:00:78:05', dhcp: true },
    ]);
    const root = await persistentRoot('match');
    await boot('m-1', '02:00:00:00:78:05', [root, seed('i-1', config('02:00:00:00:78:05'))]);
    const first = await link('m-1');
    assert.equal(first?.interfaceName, 'lan0');
    assert.match(first?.ipAddresses[0] ?? '', /^198\.18\.78\./);
    await stop('m-1');
    // Same instance: cloud-init does not render again; the NIC on a new MAC keeps its kernel name and no config.
    await boot('m-2', '02:00:00:00:78:06', [root, seed('i-1', config('02:00:00:00:78:06'))]);
    assert.deepEqual(await link('m-2'), {
      interfaceName: 'eth0',
      mac: '02:00:00:00:78:06',
      ipAddresses: [],
    });
    await stop('m-2');
    await boot('m-3', '02:00:00:00:78:06', [root, seed('i-2', config('02:00:00:00:78:06'))]);
    assert.equal((await link('m-3'))?.interfaceName, 'lan0');
    assert.match((await link('m-3'))?.ipAddresses[0] ?? '', /^198\.18\.78\./);
    await stop('m-3');
  });
});
