// `harrow set-mac`: a race-safe JSON patch of one interface's MAC, and finding the connectivity check that followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditRecord } from '../../src/audit/record.ts';
import { CliError } from '../../src/cli/errors.ts';
import { describeConnectivity, findConnectivity, setMacPatch } from '../../src/cli/set-mac.ts';
import { vmFixture } from './cli-fixtures.ts';

const IF = '/spec/template/spec/domain/devices/interfaces';

test('the patch tests the interface name and old MAC before replacing it', () => {
  const vm = vmFixture('vm-a', [
    { name: 'default', mac: '02:00:00:00:00:01' },
    { name: 'data', mac: '02:00:00:00:00:02', network: 'n' },
  ]);
  const p = setMacPatch(vm, 'data', '02:00:00:00:00:42');
  assert.equal(p.index, 1);
  assert.equal(p.old, '02:00:00:00:00:02');
  assert.deepEqual(p.ops, [
    { op: 'test', path: `${IF}/1/name`, value: 'data' },
    { op: 'test', path: `${IF}/1/macAddress`, value: '02:00:00:00:00:02' },
    { op: 'replace', path: `${IF}/1/macAddress`, value: '02:00:00:00:00:42' },
  ]);
});

test('an interface without a MAC gets one added; an unknown interface names the ones there are', () => {
  const vm = vmFixture('vm-a', [{ name: 'default' }]);
  assert.deepEqual(setMacPatch(vm, 'default', '02:00:00:00:00:42').ops.at(-1), {
    op: 'add',
    path: `${IF}/0/macAddress`,
    value: '02:00:00:00:00:42',
  });
  assert.throws(
    () => setMacPatch(vm, 'eth9', '02:00:00:00:00:42'),
    (e: unknown) =>
      e instanceof CliError &&
      /has no interface "eth9" \(its interfaces: default\)/.test(e.message),
  );
});

test('connectivity: the audit record for this interface and MAC after the change, not an older one', () => {
  const since = new Date('2026-01-01T12:00:00Z');
  const rec = (mac: string, at: string, ok: boolean) =>
    auditRecord({
      user: 'system:harrow:connectivity',
      verb: 'connectivity-check',
      resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a' },
      outcome: { code: 200 },
      connectivity: {
        ok,
        interface: 'default',
        macAddress: mac,
        lease: ok ? { ip: '198.19.1.7', macAddress: mac } : null,
        gateway: { ip: '198.19.0.1', reachable: ok },
        // As the check words them: a passed check names lease and gateway, a failed one its failed steps.
        message: ok
          ? 'interface default: lease 198.19.1.7 for the new MAC, gateway 198.19.0.1 reachable'
          : 'interface default: no DHCP lease',
        ...(ok ? {} : { failed: ['lease' as const] }),
      },
      now: new Date(at),
    });
  const records = [
    rec('02:00:00:00:00:42', '2026-01-01T11:00:00Z', false),
    rec('02:00:00:00:00:01', '2026-01-01T12:00:05Z', false),
  ];
  assert.equal(
    findConnectivity(records, undefined, 'default', '02:00:00:00:00:42', since),
    undefined,
  );
  records.push(rec('02:00:00:00:00:42', '2026-01-01T12:00:09Z', true));
  assert.deepEqual(findConnectivity(records, undefined, 'default', '02-00-00-00-00-42', since), {
    ok: true,
    message: 'interface default: lease 198.19.1.7 for the new MAC, gateway 198.19.0.1 reachable',
    source: 'audit',
  });
});

test('connectivity: else the VM condition when it is about this MAC', () => {
  const since = new Date('2026-01-01T12:00:00Z');
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:42' }], {
    conditions: [
      {
        type: 'ConnectivityCheck',
        status: 'False',
        reason: 'NoLease',
        message: 'no DHCP lease for 02:00:00:00:00:42',
        lastTransitionTime: '2026-01-01T10:00:00Z',
      },
    ],
  });
  assert.deepEqual(findConnectivity([], vm, 'default', '02:00:00:00:00:42', since), {
    ok: false,
    message: 'no DHCP lease for 02:00:00:00:00:42',
    source: 'condition',
  });
  assert.equal(findConnectivity([], vm, 'default', '02:00:00:00:00:43', since), undefined);
});

test('a connectivity message that already names lease and gateway is not repeated', () => {
  const c = {
    ok: true,
    interface: 'default',
    macAddress: '02:00:00:00:00:42',
    lease: { ip: '198.19.1.7', macAddress: '02:00:00:00:00:42' },
    gateway: { ip: '198.19.0.1', reachable: true },
    message: 'interface default: lease 198.19.1.7 for the new MAC, gateway 198.19.0.1 reachable',
  };
  assert.equal(describeConnectivity(c), c.message);
  assert.equal(
    describeConnectivity({
      ...c,
      ok: false,
      lease: null,
      gateway: { ip: '198.19.0.1', reachable: false },
      message: 'failed',
    }),
    'failed (no DHCP lease, gateway 198.19.0.1 unreachable)',
  );
});

test('a failed check gets the lease and gateway facts its message leaves out, from its fields alone', () => {
  const failedAddress = {
    ok: false,
    interface: 'default',
    macAddress: '02:00:00:00:00:42',
    lease: { ip: '198.19.1.7', macAddress: '02:00:00:00:00:42' },
    gateway: { ip: '198.19.0.1', reachable: true },
    failed: ['address' as const],
    // Even a message that happens to contain the words does not decide it: the fields do.
    message: 'interface default: the guest agent reports no IP (lease, gateway)',
  };
  assert.equal(
    describeConnectivity(failedAddress),
    `${failedAddress.message} (lease 198.19.1.7 for 02:00:00:00:00:42, gateway 198.19.0.1 reachable)`,
  );
});
