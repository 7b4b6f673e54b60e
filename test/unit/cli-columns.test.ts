// What `harrow get` shows per kind: VM MACs and drift, VMI platform vs guest MAC, MAC allocations, audit changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditTable,
  changeSummary,
  macTable,
  netTable,
  vmTable,
  vmiTable,
} from '../../src/cli/columns.ts';
import { auditRecord } from '../../src/audit/record.ts';
import type { MacAllocation, NetworkAttachmentDefinition } from '../../src/resources/types.ts';
import { driftedVm, NOW, vmFixture } from './cli-fixtures.ts';

test('vm: name, age, status, ready, manifest MACs per interface and the drift', () => {
  const { vm, vmi } = driftedVm();
  const stopped = vmFixture(
    'vm-b',
    [{ name: 'default', mac: '02:00:00:00:00:02' }, { name: 'data' }],
    { printableStatus: 'Stopped', ready: false },
  );
  const t = vmTable([vm, stopped], [vmi], NOW);
  assert.deepEqual(t.headers, ['NAME', 'AGE', 'STATUS', 'READY', 'MACS', 'DRIFT']);
  assert.deepEqual(t.rows, [
    [
      'vm-a',
      '5m',
      'Running',
      'True',
      'default=02:00:00:00:00:01',
      'default: guest 02:00:00:00:00:99',
    ],
    ['vm-b', '5m', 'Stopped', 'False', 'default=02:00:00:00:00:02,data=-', '-'],
  ]);
});

test('vm: RestartRequired shows in the status; -A adds the namespace', () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:42' }], {
    conditions: [
      {
        type: 'RestartRequired',
        status: 'True',
        message: 'a non-live-updatable field was changed in the template spec',
      },
    ],
  });
  const t = vmTable([vm], [], NOW, true);
  assert.deepEqual(t.headers[0], 'NAMESPACE');
  assert.deepEqual(t.rows[0]!.slice(0, 4), ['default', 'vm-a', '5m', 'Running (restart required)']);
});

test('vmi: the platform MAC and the guest MAC side by side, the mismatch marked', () => {
  const { vmi, pod } = driftedVm();
  const t = vmiTable([vmi], [pod]);
  assert.deepEqual(t.headers, ['NAME', 'PHASE', 'NODE', 'IP', 'MAC', 'GUEST MAC']);
  assert.deepEqual(t.rows[0], [
    'vm-a',
    'Running',
    'node-1',
    '-',
    '02:00:00:00:00:01',
    '02:00:00:00:00:99 (mismatch)',
  ]);
});

test('macs: sorted by MAC, owner as namespace/vm/interface, quarantine time only when quarantined', () => {
  const alloc = (mac: string, state: 'InUse' | 'Quarantined', until?: string): MacAllocation => ({
    apiVersion: 'harrow.io/v1',
    kind: 'MacAllocation',
    metadata: { name: mac.replaceAll(':', '-') },
    spec: {
      macAddress: mac,
      pool: 'default',
      owner: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a', interface: 'default' },
    },
    status: { state, ...(until ? { quarantineUntil: until } : {}) },
  });
  const t = macTable([
    alloc('02:00:00:00:00:09', 'Quarantined', '2026-01-01T12:05:00Z'),
    alloc('02:00:00:00:00:01', 'InUse'),
  ]);
  assert.deepEqual(t.rows, [
    ['02:00:00:00:00:01', 'InUse', 'default/vm-a/default', '-'],
    ['02:00:00:00:00:09', 'Quarantined', 'default/vm-a/default', '2026-01-01T12:05:00Z'],
  ]);
});

test('audit: oldest first; the change shortened below the devices; failures and connectivity in the outcome', () => {
  const field = 'spec.template.spec.domain.devices.interfaces[0].macAddress';
  const later = auditRecord({
    user: 'admin',
    verb: 'restart',
    resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a' },
    outcome: { code: 200 },
    connectivity: {
      ok: false,
      interface: 'default',
      macAddress: '02:00:00:00:00:42',
      lease: null,
      message: 'no DHCP lease for 02:00:00:00:00:42',
    },
    now: new Date('2026-01-01T11:59:00Z'),
  });
  const first = auditRecord({
    user: 'admin',
    verb: 'patch',
    resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a' },
    changes: [{ field, old: '02:00:00:00:00:01', new: '02:00:00:00:00:42' }],
    outcome: { code: 409, message: 'MAC in use' },
    now: new Date('2026-01-01T11:58:00Z'),
  });
  const t = auditTable([later, first]);
  assert.deepEqual(t.headers, ['TIME', 'USER', 'VERB', 'RESOURCE', 'CHANGE', 'OUTCOME']);
  assert.deepEqual(t.rows, [
    [
      '2026-01-01T11:58:00.000Z',
      'admin',
      'patch',
      'VirtualMachine/vm-a',
      'interfaces[0].macAddress: 02:00:00:00:00:01→02:00:00:00:00:42',
      'Failure 409: MAC in use',
    ],
    [
      '2026-01-01T11:59:00.000Z',
      'admin',
      'restart',
      'VirtualMachine/vm-a',
      '-',
      'Success; connectivity FAILED: no DHCP lease for 02:00:00:00:00:42',
    ],
  ]);
  assert.equal(
    changeSummary([{ field: 'spec.runStrategy', new: 'Halted' }]),
    'spec.runStrategy: ∅→Halted',
  );
});

test('nets: CNI type, VLAN and subnet from the config; unreadable config said so', () => {
  const nad = (name: string, config: string): NetworkAttachmentDefinition => ({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: 'default', creationTimestamp: '2026-01-01T10:00:00Z' },
    spec: { config },
  });
  const t = netTable(
    [
      nad(
        'net1',
        JSON.stringify({
          type: 'bridge',
          vlan: 10,
          ipam: { type: 'host-local', subnet: '198.18.3.0/24' },
        }),
      ),
      nad(
        'net2',
        JSON.stringify({ type: 'bridge', ipam: { ranges: [[{ subnet: '198.18.4.0/24' }]] } }),
      ),
      nad('bad', '{'),
    ],
    NOW,
  );
  assert.deepEqual(t.rows, [
    ['net1', 'bridge', '10', '198.18.3.0/24', '120m'],
    ['net2', 'bridge', '-', '198.18.4.0/24', '120m'],
    ['bad', '<invalid config>', '-', '-', '120m'],
  ]);
});
