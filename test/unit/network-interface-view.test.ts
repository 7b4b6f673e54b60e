// The per-interface view the API tables, the CLI and the web UI render: which MAC is the platform's and which the guest's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interfaceViews } from '../../src/network/interface-view.ts';
import { networkStatusEntryFor } from '../../src/network/multus.ts';
import { driftedVm, podFixture, vmFixture, vmiFixture } from './cli-fixtures.ts';

test('in sync: platform MAC from the pod network-status, guest MAC and IPs from the matched guest-agent entry', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const vmi = vmiFixture(vm, [
    {
      name: 'default',
      mac: '02:00:00:00:00:01',
      podInterfaceName: 'eth0',
      interfaceName: 'eth0',
      ipAddress: '198.19.1.5',
      ipAddresses: ['198.19.1.5'],
      infoSource: 'domain, guest-agent',
    },
  ]);
  const pod = podFixture(vmi, [
    { name: 'harrow-pod-network', interface: 'eth0', mac: '02:00:00:00:00:01', default: true },
  ]);
  const [v] = interfaceViews(vm, vmi, pod);
  assert.deepEqual(
    {
      platform: v!.platformMac,
      source: v!.platformSource,
      guest: v!.guestMac,
      ips: v!.ips,
      mismatch: v!.mismatch,
      pending: v!.pendingRestart,
    },
    {
      platform: '02:00:00:00:00:01',
      source: 'network-status',
      guest: '02:00:00:00:00:01',
      ips: ['198.19.1.5'],
      mismatch: false,
      pending: false,
    },
  );
});

test('the pod network-status wins over the VMI status for the platform MAC', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const vmi = vmiFixture(vm, [
    { name: 'default', mac: '02:00:00:00:00:77', podInterfaceName: 'eth0', infoSource: 'domain' },
  ]);
  const pod = podFixture(vmi, [
    { name: 'harrow-pod-network', interface: 'eth0', mac: '02:00:00:00:00:01', default: true },
  ]);
  assert.equal(interfaceViews(vm, vmi, pod)[0]!.platformMac, '02:00:00:00:00:01');
  assert.equal(interfaceViews(vm, vmi, undefined)[0]!.platformSource, 'vmi-status');
});

test("an in-guest change: Harrow's guestMac (QMP) names the guest MAC; the agent entry with it gives the guest's name", () => {
  const { vm, vmi, pod } = driftedVm();
  const [v] = interfaceViews(vm, vmi, pod);
  assert.equal(v!.platformMac, '02:00:00:00:00:01');
  assert.equal(v!.guestMac, '02:00:00:00:00:99');
  assert.equal(v!.guestInterfaceName, 'eth0');
  assert.equal(v!.mismatch, true);
});

test('guestMac wins over the agent: a guest without an agent still shows its MAC', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const vmi = vmiFixture(vm, [
    {
      name: 'default',
      mac: '02:00:00:00:00:01',
      podInterfaceName: 'eth0',
      guestMac: '02:00:00:00:00:01',
      infoSource: 'domain',
    },
  ]);
  const [v] = interfaceViews(vm, vmi, undefined);
  assert.deepEqual(
    [v!.guestMac, v!.mismatch, v!.guestInterfaceName],
    ['02:00:00:00:00:01', false, undefined],
  );
});

test('KubeVirt shape only (no guestMac): the one unmatched guest-agent entry is the guest MAC, loopback ignored', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const vmi = vmiFixture(vm, [
    { name: 'default', mac: '02:00:00:00:00:01', podInterfaceName: 'eth0', infoSource: 'domain' },
    { interfaceName: 'lo', mac: '00:00:00:00:00:00', infoSource: 'guest-agent' },
    {
      interfaceName: 'eth0',
      mac: '02:00:00:00:00:98',
      ipAddresses: ['198.19.1.4'],
      infoSource: 'guest-agent',
    },
  ]);
  const [v] = interfaceViews(vm, vmi, undefined);
  assert.deepEqual(
    [v!.guestMac, v!.guestInterfaceName, v!.ips, v!.mismatch],
    ['02:00:00:00:00:98', 'eth0', ['198.19.1.4'], true],
  );
});

test("with two interfaces the status's mismatch records say which one drifted, whatever the condition's message says", () => {
  const vm = vmFixture('vm-a', [
    { name: 'default', mac: '02:00:00:00:00:01' },
    { name: 'data', mac: '02:00:00:00:00:02', network: 'net1' },
  ]);
  const record = (platformMac: string, guestMac: string) => ({
    platformMac,
    guestMac,
    since: '2026-12-04T10:00:00.000Z',
    cause: 'GuestChangedMAC' as const,
    remedies: [],
  });
  const vmi = vmiFixture(
    vm,
    [
      {
        name: 'default',
        mac: '02:00:00:00:00:01',
        podInterfaceName: 'eth0',
        infoSource: 'domain',
        guestMacMismatch: record('02:00:00:00:00:01', '02:00:00:00:00:66'),
      },
      {
        name: 'data',
        mac: '02:00:00:00:00:02',
        podInterfaceName: 'pod1a2b',
        infoSource: 'domain',
        guestMacMismatch: record('02:00:00:00:00:02', '02:00:00:00:00:55'),
      },
      { interfaceName: 'eth1', mac: '02:00:00:00:00:55', infoSource: 'guest-agent' },
      { interfaceName: 'eth0', mac: '02:00:00:00:00:66', infoSource: 'guest-agent' },
    ],
    [{ type: 'GuestMACMismatch', status: 'True', message: 'anything at all: 02:00:00:00:00:99' }],
  );
  const pod = podFixture(vmi, [
    { name: 'harrow-pod-network', interface: 'eth0', mac: '02:00:00:00:00:01', default: true },
    { name: 'default/net1', interface: 'pod1a2b', mac: '02:00:00:00:00:02' },
  ]);
  const views = interfaceViews(vm, vmi, pod);
  assert.deepEqual(
    views.map((v) => [v.name, v.platformMac, v.guestMac, v.guestInterfaceName, v.mismatch]),
    [
      ['default', '02:00:00:00:00:01', '02:00:00:00:00:66', 'eth0', true],
      ['data', '02:00:00:00:00:02', '02:00:00:00:00:55', 'eth1', true],
    ],
  );
  assert.equal(views[1]!.guestMacMismatch?.guestMac, '02:00:00:00:00:55');
});

test('a condition without records names no guest MAC: its message is never parsed', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const vmi = vmiFixture(
    vm,
    [{ name: 'default', mac: '02:00:00:00:00:01', podInterfaceName: 'eth0', infoSource: 'domain' }],
    [
      {
        type: 'GuestMACMismatch',
        status: 'True',
        message: 'interface default: guest 02:00:00:00:00:99',
      },
    ],
  );
  const [v] = interfaceViews(vm, vmi, undefined);
  assert.deepEqual([v!.guestMac, v!.mismatch], [undefined, false]);
});

test('a manifest MAC the running instance does not have yet is pending a restart', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:42' }]);
  const old = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  const vmi = vmiFixture(old, [
    { name: 'default', mac: '02:00:00:00:00:01', podInterfaceName: 'eth0', infoSource: 'domain' },
  ]);
  const [v] = interfaceViews(vm, vmi, undefined);
  assert.equal(v!.specMac, '02:00:00:00:00:42');
  assert.equal(v!.platformMac, '02:00:00:00:00:01');
  assert.equal(v!.pendingRestart, true);
  assert.equal(v!.guestMac, undefined);
});

test('a stopped VM has manifest MACs only', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02-00-00-00-00-0A' }]);
  const [v] = interfaceViews(vm, undefined, undefined);
  assert.deepEqual(
    [v!.specMac, v!.platformMac, v!.guestMac, v!.mismatch],
    ['02:00:00:00:00:0a', undefined, undefined, false],
  );
});

test('network-status entry: by pod interface, else namespace-qualified network name, else the default', () => {
  const entries = [
    { name: 'harrow-pod-network', interface: 'eth0', mac: 'a', default: true },
    { name: 'prod/net1', interface: 'pod9', mac: 'b' },
  ];
  assert.equal(networkStatusEntryFor(entries, 'pod9', undefined, 'prod')?.mac, 'b');
  assert.equal(networkStatusEntryFor(entries, undefined, 'net1', 'prod')?.mac, 'b');
  assert.equal(networkStatusEntryFor(entries, undefined, 'prod/net1', 'other')?.mac, 'b');
  assert.equal(networkStatusEntryFor(entries, undefined, undefined, 'prod')?.mac, 'a');
  assert.equal(networkStatusEntryFor(entries, undefined, 'net2', 'prod'), undefined);
});
