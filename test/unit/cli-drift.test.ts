// `harrow drift` and `harrow describe`: a guest that changed its MAC is reported with both remedies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderVmDescription } from '../../src/cli/describe.ts';
import { driftEntries } from '../../src/cli/drift.ts';
import { launcherPodOf, launcherPods } from '../../src/cli/launcher-pod.ts';
import { auditRecord } from '../../src/audit/record.ts';
import type { KubeEvent, Pod } from '../../src/resources/types.ts';
import {
  driftedVm,
  MISMATCH_MESSAGE,
  NOW,
  podFixture,
  vmFixture,
  vmiFixture,
} from './cli-fixtures.ts';

test('drift lists the drifted interface with the restore and adopt commands', () => {
  const { vm, vmi, pod } = driftedVm();
  const healthy = vmFixture('vm-b', [{ name: 'default', mac: '02:00:00:00:00:02' }]);
  const healthyVmi = vmiFixture(healthy, [
    {
      name: 'default',
      mac: '02:00:00:00:00:02',
      interfaceName: 'eth0',
      infoSource: 'domain, guest-agent',
    },
  ]);
  const entries = driftEntries([vm, healthy], [vmi, healthyVmi], [pod]);
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0], {
    namespace: 'default',
    vm: 'vm-a',
    interface: 'default',
    platformMac: '02:00:00:00:00:01',
    guestMac: '02:00:00:00:00:99',
    since: '2026-12-04T10:00:00.000Z',
    message: MISMATCH_MESSAGE,
    remedies: {
      restore: 'harrow drift restore vm-a',
      adopt: 'harrow drift adopt vm-a default --restart',
    },
  });
});

test('the drift list, describe and the condition (so its Event) suggest the very same commands', () => {
  const { vm, vmi, pod } = driftedVm();
  const [e] = driftEntries([vm], [vmi], [pod]);
  assert.ok(MISMATCH_MESSAGE.includes(`${e!.remedies.restore}.`), MISMATCH_MESSAGE);
  assert.ok(MISMATCH_MESSAGE.includes(`${e!.remedies.adopt!}.`), MISMATCH_MESSAGE);
  const described = renderVmDescription({ vm, vmi, pod, events: [] }, NOW, '');
  assert.ok(described.includes(e!.remedies.adopt!), described);
  assert.ok(described.includes(e!.remedies.restore), described);
});

test("drift offers adopt only when the status's record does: not while another VM holds the guest's MAC", () => {
  const { vm, vmi, pod } = driftedVm();
  const record = vmi.status!.interfaces![0]!.guestMacMismatch!;
  record.heldBy = { namespace: 'other' };
  record.remedies = record.remedies.map((r) =>
    r.action === 'adopt-guest-mac' ? { ...r, available: false } : r,
  );
  const [e] = driftEntries([vm], [vmi], [pod]);
  assert.deepEqual(e!.remedies, { restore: 'harrow drift restore vm-a' });
});

test('drift in another namespace repeats -n in the remedies; a condition without a readable MAC still shows', () => {
  const vm = vmFixture('vm-c', [{ name: 'default', mac: '02:00:00:00:00:03' }]);
  vm.metadata.namespace = 'prod';
  const vmi = vmiFixture(
    vm,
    [{ name: 'default', mac: '02:00:00:00:00:03', infoSource: 'domain' }],
    [{ type: 'GuestMACMismatch', status: 'True', message: 'the guest changed a MAC' }],
  );
  vmi.metadata.namespace = 'prod';
  vmi.status!.interfaces!.push(
    { interfaceName: 'eth0', mac: '02:00:00:00:00:98', infoSource: 'guest-agent' },
    { interfaceName: 'eth1', mac: '02:00:00:00:00:97', infoSource: 'guest-agent' },
  );
  const [e] = driftEntries([vm], [vmi], []);
  assert.deepEqual(
    [e!.interface, e!.guestMac, e!.remedies],
    ['-', undefined, { restore: 'harrow drift restore vm-c -n prod' }],
  );
});

test('describe shows platform MAC from network-status, guest MAC, the mismatch, its remedies and events', () => {
  const { vm, vmi, pod } = driftedVm();
  const event: KubeEvent = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e1', namespace: 'default' },
    involvedObject: { kind: 'VirtualMachineInstance', name: 'vm-a' },
    reason: 'GuestMACMismatch',
    message: 'guest eth0 uses 02:00:00:00:00:99',
    type: 'Warning',
    lastTimestamp: '2026-01-01T11:59:30Z',
  };
  const text = renderVmDescription({ vm, vmi, pod, events: [event] }, NOW, '');
  assert.match(text, /Status:\s+Running/);
  assert.match(
    text,
    /Platform MAC:\s+02:00:00:00:00:01 {2}\(pod interface eth0, from the pod's network-status\)/,
  );
  assert.match(text, /Guest MAC:\s+02:00:00:00:00:99 {2}\(eth0 in the guest\) {2}← MISMATCH/);
  assert.match(text, /GuestMACMismatch\s+True\s+GuestChangedMAC/);
  assert.match(
    text,
    /harrow drift restore vm-a {4}# restart: the guest gets the platform MAC again/,
  );
  assert.match(
    text,
    /harrow drift adopt vm-a default --restart {4}# make 02:00:00:00:00:99 the manifest MAC/,
  );
  assert.match(
    text,
    /30s\s+Warning\s+GuestMACMismatch\s+virtualmachineinstance\/vm-a\s+guest eth0 uses/,
  );
});

test('describe of a healthy VM shows no mismatch section, and a stopped one says it has no instance', () => {
  const vm = vmFixture('vm-b', [{ name: 'default', mac: '02:00:00:00:00:02' }]);
  const vmi = vmiFixture(vm, [
    {
      name: 'default',
      mac: '02:00:00:00:00:02',
      podInterfaceName: 'eth0',
      interfaceName: 'eth0',
      ipAddress: '198.19.1.9',
      infoSource: 'domain, guest-agent',
      lease: { ip: '198.19.1.9', macAddress: '02:00:00:00:00:02' },
    },
  ]);
  const pod = podFixture(vmi, [
    { name: 'harrow-pod-network', interface: 'eth0', mac: '02:00:00:00:00:02', default: true },
  ]);
  const text = renderVmDescription({ vm, vmi, pod, events: [] }, NOW, '');
  assert.doesNotMatch(text, /mismatch/i);
  assert.match(text, /IPs:\s+198\.19\.1\.9/);
  assert.match(text, /Lease:\s+198\.19\.1\.9 for 02:00:00:00:00:02/);
  const stopped = renderVmDescription(
    { vm: { ...vm, status: { printableStatus: 'Stopped' } }, events: [] },
    NOW,
    ' -n x',
  );
  assert.match(stopped, /Instance:\s+\(none: the VM is not running\)/);
  assert.match(stopped, /Manifest MAC:\s+02:00:00:00:00:02/);
  assert.doesNotMatch(stopped, /Platform MAC/);
  assert.doesNotMatch(stopped, /Fixed address/);
  const fixed = renderVmDescription(
    {
      vm: {
        ...vm,
        metadata: {
          ...vm.metadata,
          annotations: { 'static-ip.harvesterhci.io/default': '198.18.7.50' },
        },
      },
      vmi,
      pod,
      events: [],
    },
    NOW,
    '',
  );
  assert.match(fixed, /Fixed address:\s+198\.18\.7\.50 {2}\(static-ip annotation\)/);
});

test('describe shows the lease the connectivity check saw for the current platform MAC, not an older MAC', () => {
  const vm = vmFixture('vm-b', [{ name: 'default', mac: '02:00:00:00:00:42' }]);
  const vmi = vmiFixture(vm, [
    { name: 'default', mac: '02:00:00:00:00:42', podInterfaceName: 'eth0', infoSource: 'domain' },
  ]);
  const check = (mac: string, ip: string, at: string) =>
    auditRecord({
      user: 'system:harrow:controller',
      verb: 'connectivity-check',
      resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-b' },
      outcome: { code: 200 },
      connectivity: {
        ok: true,
        interface: 'default',
        macAddress: mac,
        lease: { ip, macAddress: mac },
        gateway: { ip: '198.19.0.1', reachable: true },
        message: 'ok',
      },
      now: new Date(at),
    });
  const audit = [
    check('02:00:00:00:00:42', '198.19.1.7', '2026-01-01T11:58:00Z'),
    check('02:00:00:00:00:01', '198.19.1.3', '2026-01-01T11:59:00Z'),
  ];
  const text = renderVmDescription({ vm, vmi, events: [], audit }, NOW, '');
  assert.match(
    text,
    /Lease:\s+198\.19\.1\.7 for 02:00:00:00:00:42 {2}\(seen by the connectivity check 2m ago\)/,
  );
});

test("each VMI's launcher pod: the one it owns, else the newest one labelled with its name that is not going", () => {
  const { vmi, pod } = driftedVm();
  const other = vmiFixture(vmFixture('vm-b', [{ name: 'default', mac: '02:00:00:00:00:02' }]), []);
  const labelledOnly = (
    name: string,
    created: string,
    extra: Partial<Pod['metadata']> = {},
  ): Pod => ({
    ...pod,
    metadata: {
      name,
      namespace: 'default',
      labels: { 'vm.kubevirt.io/name': 'vm-b' },
      creationTimestamp: created,
      ...extra,
    },
  });
  const older = labelledOnly('old', '2026-01-01T10:00:00Z');
  const newest = labelledOnly('new', '2026-01-01T11:00:00Z');
  const tie = labelledOnly('tie', '2026-01-01T11:00:00Z');
  const going = labelledOnly('going', '2026-01-01T12:00:00Z', {
    deletionTimestamp: '2026-01-01T12:01:00Z',
  });
  const elsewhere = labelledOnly('elsewhere', '2026-01-01T13:00:00Z', { namespace: 'other' });
  // The owned pod wins even over a newer labelled one.
  const newerLabelled = labelledOnly('newer', '2026-01-02T00:00:00Z', {
    labels: { 'vm.kubevirt.io/name': vmi.metadata.name },
  });
  const podOf = launcherPods([older, newerLabelled, newest, going, tie, elsewhere, pod]);
  assert.equal(podOf(vmi), pod);
  assert.equal(podOf(other)?.metadata.name, 'new');
  assert.equal(launcherPodOf(other, [older, going, elsewhere])?.metadata.name, 'old');
  assert.equal(launcherPodOf(other, [going, elsewhere]), undefined);
});

test('drift matches each VMI to the VM of its own namespace and name', () => {
  const { vm, vmi, pod } = driftedVm();
  // Same name in another namespace, with an interface of another name: matched, it would be the one listed.
  const sameNameElsewhere = vmFixture(vm.metadata.name, [
    { name: 'elsewhere', mac: '02:00:00:00:00:99' },
  ]);
  sameNameElsewhere.metadata.namespace = 'other';
  const entries = driftEntries([sameNameElsewhere, vm], [vmi], [pod]);
  assert.deepEqual(
    entries.map((e) => e.interface),
    ['default'],
  );
});
