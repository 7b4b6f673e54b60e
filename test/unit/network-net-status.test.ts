// VMI status.interfaces the KubeVirt way (NetStat), and guest MAC drift as a declared record the message is rendered from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  mismatchMessage,
  mismatchesOf,
  remedyCommandLine,
  withMismatchRecords,
} from '../../src/network/drift.ts';
import { interfaceStatuses, primaryIp } from '../../src/network/net-status.ts';
import type { VirtualMachineInstance, VMIInterfaceStatus } from '../../src/resources/types.ts';
import { vmManifest } from './controllers-harness.ts';

const vmi: VirtualMachineInstance = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'x', namespace: 'default' },
  spec: vmManifest('x', { macs: ['02:00:00:00:00:01'] }).spec.template.spec,
};
const netStatus = [
  { name: 'harrow-pod-network', interface: 'eth0', mac: '02:00:00:00:00:01', default: true },
];
const T0 = '2026-12-04T10:00:00.000Z';
const T1 = '2026-12-04T10:05:00.000Z';

describe('interfaceStatuses (KubeVirt NetStat)', () => {
  test('a guest interface with the platform MAC merges into the spec entry (domain, guest-agent)', () => {
    const s = interfaceStatuses(vmi, netStatus, {
      nics: [{ name: 'default', guestMac: '02:00:00:00:00:01' }],
      agent: {
        interfaces: [
          { interfaceName: 'eth0', mac: '02:00:00:00:00:01', ipAddresses: ['198.19.1.5'] },
          { interfaceName: 'lo', mac: '00:00:00:00:00:00', ipAddresses: ['127.0.0.1'] },
        ],
      },
    });
    assert.deepEqual(s, [
      {
        name: 'default',
        mac: '02:00:00:00:00:01',
        podInterfaceName: 'eth0',
        guestMac: '02:00:00:00:00:01',
        interfaceName: 'eth0',
        ipAddress: '198.19.1.5',
        ipAddresses: ['198.19.1.5'],
        infoSource: 'domain, guest-agent',
        queueCount: 1,
      },
    ]);
    assert.deepEqual(mismatchesOf(withMismatchRecords(s, undefined, () => undefined, T0)), []);
  });

  test('a guest that changed its MAC: the spec entry keeps the platform MAC (domain), the guest interface is its own entry (guest-agent)', () => {
    const s = interfaceStatuses(vmi, netStatus, {
      nics: [{ name: 'default', guestMac: '02:00:00:00:00:77' }],
      agent: { interfaces: [{ interfaceName: 'eth0', mac: '02:00:00:00:00:77', ipAddresses: [] }] },
    });
    assert.deepEqual(s, [
      {
        name: 'default',
        mac: '02:00:00:00:00:01',
        podInterfaceName: 'eth0',
        guestMac: '02:00:00:00:00:77',
        infoSource: 'domain',
        queueCount: 1,
      },
      {
        interfaceName: 'eth0',
        mac: '02:00:00:00:00:77',
        ipAddresses: [],
        infoSource: 'guest-agent',
      },
    ]);
  });

  test('the DHCP lease shown is the one for the platform MAC, not one the guest took for another MAC', () => {
    const leases = new Map([
      ['02:00:00:00:00:01', { ip: '198.19.1.5', expires: '2026-11-27T01:00:00.000Z' }],
      ['02:00:00:00:00:77', { ip: '198.19.1.9' }],
    ]);
    const s = interfaceStatuses(
      vmi,
      netStatus,
      { nics: [{ name: 'default', guestMac: '02:00:00:00:00:01' }] },
      (mac) => leases.get(mac),
    );
    assert.deepEqual(s[0]?.lease, {
      ip: '198.19.1.5',
      macAddress: '02:00:00:00:00:01',
      expires: '2026-11-27T01:00:00.000Z',
    });
    const none = interfaceStatuses(vmi, netStatus, { nics: [] }, () => undefined);
    assert.equal(none[0]?.lease, undefined);
  });
});

describe('the mismatch record', () => {
  const drifted: VMIInterfaceStatus[] = [
    {
      name: 'default',
      mac: '02:00:00:00:00:01',
      podInterfaceName: 'eth0',
      guestMac: '02:00:00:00:00:77',
      infoSource: 'domain',
    },
    { interfaceName: 'eth0', mac: '02:00:00:00:00:77', infoSource: 'guest-agent' },
  ];

  test('declares platform MAC, guest MAC, since, cause and both remedies as data', () => {
    const [entry, agentEntry] = withMismatchRecords(drifted, undefined, () => undefined, T0);
    assert.deepEqual(entry?.guestMacMismatch, {
      platformMac: '02:00:00:00:00:01',
      guestMac: '02:00:00:00:00:77',
      since: T0,
      cause: 'GuestChangedMAC',
      remedies: [
        {
          action: 'restore-mac',
          macAddress: '02:00:00:00:00:01',
          available: true,
          takesEffect: 'now',
        },
        {
          action: 'adopt-guest-mac',
          macAddress: '02:00:00:00:00:77',
          available: true,
          takesEffect: 'next-restart',
        },
      ],
    });
    assert.equal(agentEntry?.guestMacMismatch, undefined, 'guest-agent entries carry no record');
  });

  test('since stays while the same drift lasts, and restarts when the guest moves to another MAC', () => {
    const first = withMismatchRecords(drifted, undefined, () => undefined, T0);
    const later = withMismatchRecords(drifted, first, () => undefined, T1);
    assert.equal(later[0]?.guestMacMismatch?.since, T0);
    const moved = withMismatchRecords(
      [{ ...drifted[0]!, guestMac: '02:00:00:00:00:78' }],
      first,
      () => undefined,
      T1,
    );
    assert.equal(moved[0]?.guestMacMismatch?.since, T1);
    const back = withMismatchRecords(
      [{ ...drifted[0]!, guestMac: '02:00:00:00:00:01' }],
      first,
      () => undefined,
      T1,
    );
    assert.equal(back[0]?.guestMacMismatch, undefined, 'the record goes when the drift does');
  });

  test('the message is rendered from the record for people: both MACs, the effect, the remedies as the CLI commands', () => {
    const s = withMismatchRecords(drifted, undefined, () => undefined, T0);
    const text = mismatchMessage('default', 'x', s) ?? '';
    for (const part of [
      '02:00:00:00:00:01',
      '02:00:00:00:00:77',
      'interface default',
      'pod interface eth0',
      'spoof check',
      'no DHCP',
      'reverts',
      'restart the VM',
      'adopt it',
    ])
      assert.ok(text.includes(part), `message lacks ${part}: ${text}`);
    // The condition (and its Event) name the same commands `harrow drift` and `describe` print, from one function.
    assert.ok(
      text.includes(
        `restart the VM: ${remedyCommandLine('restore-mac', 'x', 'default', 'default')}.`,
      ),
      text,
    );
    assert.ok(
      text.includes(
        `and restart: ${remedyCommandLine('adopt-guest-mac', 'x', 'default', 'default')}.`,
      ),
      text,
    );
    assert.ok(text.includes('harrow drift adopt x default --restart'), text);
    assert.equal(mismatchMessage('default', 'x', [drifted[1]!]), undefined);
  });

  test('a stolen MAC held in the same namespace names the holder; one held in another namespace does not', () => {
    const same = withMismatchRecords(
      drifted,
      undefined,
      () => ({ namespace: 'same', name: 'victim', interface: 'nic0' }),
      T0,
    );
    assert.equal(same[0]?.guestMacMismatch?.remedies[1]?.available, false, 'adopt is refused');
    const held = mismatchMessage('a', 'x', same) ?? '';
    assert.match(held, /allocated to VM a\/victim/);
    assert.doesNotMatch(held, /drift adopt/, 'no adopt command while another VM holds the MAC');
    const other = withMismatchRecords(drifted, undefined, () => ({ namespace: 'other' }), T0);
    const text = mismatchMessage('a', 'x', other) ?? '';
    assert.doesNotMatch(text, /victim|\bb\//);
    assert.match(text, /allocated to a VM in another namespace/);
  });
});

describe('the primary IP of an interface', () => {
  test('is the first address that is not link-local (fe80::/10, 169.254/16), else the first', () => {
    assert.equal(primaryIp(['fe80::48:52ff:fe76:87a6', '198.18.40.62']), '198.18.40.62');
    assert.equal(primaryIp(['169.254.1.1', 'fd00::1']), 'fd00::1');
    assert.equal(primaryIp(['198.19.1.5', 'fe80::1']), '198.19.1.5');
    assert.equal(primaryIp(['fe80::1']), 'fe80::1');
    assert.equal(primaryIp([]), undefined);
  });
});
