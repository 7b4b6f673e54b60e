// The one precedence rule for a NIC's MAC (spec → pod request → pod status → VMI status → guest), pinned per question.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assignedMac,
  canonicalMac,
  driftedGuestMac,
  instanceMac,
  platformMac,
} from '../../src/network/mac-precedence.ts';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '02:00:00:00:00:03';

test('assigned: the spec wins over the pod request and the pod interface (KubeVirt resolveMacAddress)', () => {
  assert.equal(assignedMac({ spec: A, podRequest: B, podStatus: C }), A);
  assert.equal(assignedMac({ podRequest: B, podStatus: C }), B);
  assert.equal(assignedMac({ spec: '', podStatus: C }), C);
  assert.equal(
    assignedMac({ vmiStatus: A, guest: B }),
    undefined,
    'status and guest assign nothing',
  );
  assert.equal(assignedMac({ spec: '02:AB:00:00:00:01' }), '02:ab:00:00:00:01');
});

test('platform: the pod interface (network-status) wins over the VMI status, and says which', () => {
  assert.deepEqual(platformMac({ spec: A, podStatus: B, vmiStatus: C }), {
    mac: B,
    stage: 'podStatus',
  });
  assert.deepEqual(platformMac({ spec: A, vmiStatus: C }), { mac: C, stage: 'vmiStatus' });
  assert.equal(platformMac({ spec: A, podRequest: B, guest: C }), undefined);
});

test('instance: what the platform reports, else what was assigned', () => {
  assert.equal(instanceMac({ spec: A, vmiStatus: B }), B);
  assert.equal(instanceMac({ spec: A, podStatus: C }), C);
  assert.equal(instanceMac({ spec: A }), A);
  assert.equal(instanceMac({}), undefined);
});

test('drift: only a known guest MAC that differs from the platform MAC, in any notation', () => {
  assert.equal(driftedGuestMac({ podStatus: A, guest: B }), B);
  assert.equal(driftedGuestMac({ podStatus: A, guest: '02-00-00-00-00-01' }), undefined);
  assert.equal(driftedGuestMac({ spec: A, guest: B }), undefined, 'no platform MAC yet: no drift');
  assert.equal(driftedGuestMac({ vmiStatus: A }), undefined);
  assert.equal(canonicalMac('0200.0000.0001'), A);
});
