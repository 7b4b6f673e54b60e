// cloud-init network-config as Harrow writes and reads it: the generated config follows the NICs' MACs and gives a new
// instance-id when it changes; a user's config that matches an interface by MAC is found line by line, and a MAC change
// that leaves such a line behind is warned about.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { cloudInitInstanceId, planGuestDisks } from '../../src/controllers/guest-disks.ts';
import {
  generatedNetworkConfig,
  macMatches,
  staleMacMatchWarnings,
} from '../../src/network/network-config.ts';
import { parseNetworkConfig } from '../../src/runtime/sim/guest-network.ts';
import type { VirtualMachine, VirtualMachineInstance, Volume } from '../../src/resources/types.ts';

const A = '02:00:00:00:16:01';
const B = '02:00:00:00:16:02';

describe('the network-config Harrow generates', () => {
  test('matches each NIC by its MAC, keeps the kernel name and asks DHCP, in device order', () => {
    const text = generatedNetworkConfig([{ mac: A }, { mac: '02-00-00-00-16-0B' }]);
    assert.deepEqual(parse(text), {
      version: 2,
      ethernets: {
        eth0: { match: { macaddress: A }, 'set-name': 'eth0', dhcp4: true },
        eth1: { match: { macaddress: '02:00:00:00:16:0b' }, 'set-name': 'eth1', dhcp4: true },
      },
    });
    // As cloud-init reads it (the sim's model of its v2 parser).
    assert.deepEqual(parseNetworkConfig(text), [
      { name: 'eth0', matchMac: A, dhcp: true },
      { name: 'eth1', matchMac: '02:00:00:00:16:0b', dhcp: true },
    ]);
  });

  const vmi = (volumes: Volume[]): VirtualMachineInstance => ({
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
    spec: {
      domain: { devices: { disks: volumes.map((v) => ({ name: v.name })) } },
      volumes,
    },
  });
  const seedOf = async (volumes: Volume[], mac: string) => {
    const plan = await planGuestDisks(vmi(volumes), undefined, undefined, [{ mac }]);
    assert.ok(plan.ok);
    const source = plan.disks[0]!.source;
    assert.ok(source.type === 'cloudInitNoCloud');
    return source;
  };

  test('no networkData: the seed carries the generated config and an instance-id of the VM uid and its digest', async () => {
    const volumes: Volume[] = [{ name: 'ci', cloudInitNoCloud: { userData: '#cloud-config\n' } }];
    const first = await seedOf(volumes, A);
    assert.equal(first.networkData, generatedNetworkConfig([{ mac: A }]));
    const id = /^instance-id: "([^"]+)"$/m.exec(first.metaData)?.[1];
    assert.match(id ?? '', /^vm-uid-[0-9a-f]{12}$/);
    assert.equal(id, cloudInitInstanceId(vmi(volumes), first.networkData));
    // The same MAC: the same instance (cloud-init does not run again); a new MAC: a new config and a new instance.
    assert.equal((await seedOf(volumes, A)).metaData, first.metaData);
    const moved = await seedOf(volumes, B);
    assert.match(moved.networkData ?? '', new RegExp(`macaddress: "${B}"`));
    assert.doesNotMatch(moved.networkData ?? '', new RegExp(A));
    assert.notEqual(moved.metaData, first.metaData);
    assert.match(moved.metaData, /^instance-id: "vm-uid-[0-9a-f]{12}"$/m);
  });

  test("the user's networkData is served as given, with the VM uid as instance-id, whatever the MAC", async () => {
    const networkData = `version: 2\nethernets:\n  lan:\n    match:\n      macaddress: "${A}"\n    dhcp4: true\n`;
    for (const volumes of [
      [{ name: 'ci', cloudInitNoCloud: { networkData } }],
      [
        {
          name: 'ci',
          cloudInitNoCloud: { networkDataBase64: Buffer.from(networkData).toString('base64') },
        },
      ],
    ]) {
      const seed = await seedOf(volumes, B);
      assert.equal(seed.networkData, networkData);
      assert.match(seed.metaData, /^instance-id: "vm-uid"$/m);
    }
  });
});

describe('network-config lines that match an interface by MAC', () => {
  test('v2 match.macaddress, with and without a top-level network:, any MAC notation', () => {
    const text = [
      'network:',
      '  version: 2',
      '  ethernets:',
      '    id0:',
      '      match:',
      `        macaddress: "${A.toUpperCase()}"`,
      '      set-name: lan0',
      '      dhcp4: true',
      '    id1:',
      '      match:',
      '        name: eth1',
      '      macaddress: 02:00:00:00:16:99',
      '    id2:',
      '      match: {macaddress: 02-00-00-00-16-02}',
    ].join('\n');
    assert.deepEqual(macMatches(text), [
      { mac: A, line: 6, text: `macaddress: "${A.toUpperCase()}"`, interface: 'lan0' },
      { mac: B, line: 14, text: 'match: {macaddress: 02-00-00-00-16-02}', interface: 'id2' },
    ]);
    // `macaddress` outside `match` sets the MAC rather than matching on it: not a match.
    assert.equal(
      macMatches(text).some((m) => m.mac === '02:00:00:00:16:99'),
      false,
    );
  });

  test('v1 physical mac_address; other types and broken YAML have none', () => {
    const text = [
      'version: 1',
      'config:',
      '  - type: physical',
      '    name: eth0',
      `    mac_address: '${A}'`,
      '    subnets:',
      '      - type: dhcp',
      '  - type: bond',
      '    name: bond0',
      `    mac_address: '${B}'`,
    ].join('\n');
    assert.deepEqual(macMatches(text), [
      { mac: A, line: 5, text: `mac_address: '${A}'`, interface: 'eth0' },
    ]);
    assert.deepEqual(macMatches('version: 2\nethernets: [\n'), []);
    assert.deepEqual(macMatches('#cloud-config\n'), []);
  });
});

describe('a MAC change while the networkData still matches the old MAC', () => {
  const vm = (mac: string, cloudInitNoCloud: Volume['cloudInitNoCloud']): VirtualMachine => ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm1', namespace: 'default' },
    spec: {
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: 'default', macAddress: mac, bridge: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            { name: 'root', containerDisk: { image: 'debian:12' } },
            { name: 'ci', cloudInitNoCloud },
          ],
        },
      },
    },
  });
  const pinned = `version: 2\nethernets:\n  id0:\n    match:\n      macaddress: "${A}"\n    set-name: eth0\n    dhcp4: true\n`;

  test('is warned about, naming the interface, both MACs, the field and the line', () => {
    const warnings = staleMacMatchWarnings(
      vm(A, { networkData: pinned }),
      vm(B, { networkData: pinned }),
    );
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /^interface default: its MAC changes from 02:00:00:00:16:01 to 02:00:00:00:16:02/,
    );
    assert.match(
      warnings[0]!,
      /spec\.template\.spec\.volumes\[1\]\.cloudInitNoCloud\.networkData line 5 \(macaddress: "02:00:00:00:16:01"\) still matches 02:00:00:00:16:01/,
    );
    const base64 = { networkDataBase64: Buffer.from(pinned).toString('base64') };
    assert.match(
      staleMacMatchWarnings(vm(A, base64), vm(B, base64))[0] ?? '',
      /cloudInitNoCloud\.networkDataBase64 line 5/,
    );
  });

  test('is not warned about when the networkData follows, nothing matches, or the MAC stays', () => {
    const follows = { networkData: pinned.replace(A, B) };
    assert.deepEqual(staleMacMatchWarnings(vm(A, { networkData: pinned }), vm(B, follows)), []);
    const byName = { networkData: 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n' };
    assert.deepEqual(staleMacMatchWarnings(vm(A, byName), vm(B, byName)), []);
    assert.deepEqual(staleMacMatchWarnings(vm(A, {}), vm(B, {})), []);
    assert.deepEqual(
      staleMacMatchWarnings(vm(A, { networkData: pinned }), vm(A, { networkData: pinned })),
      [],
    );
    assert.deepEqual(staleMacMatchWarnings(undefined, vm(B, { networkData: pinned })), []);
  });
});
