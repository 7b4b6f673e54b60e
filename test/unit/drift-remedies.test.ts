// The adopt rule of the drift remedies: which interfaces drifted, what the manifest becomes, and how a wrong ask is named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adoptGuestMacs,
  adoptMessage,
  driftOf,
  restoreMessage,
} from '../../src/apiserver/drift-remedies.ts';
import { HarrowError } from '../../src/resources/errors.ts';
import type {
  VirtualMachine,
  VirtualMachineInstance,
  VMIInterfaceStatus,
} from '../../src/resources/types.ts';
import { vmManifest } from './controllers-harness.ts';

const vm = (): VirtualMachine =>
  vmManifest('vm-a', { macs: ['02:48:52:00:00:01', '02:48:52:00:00:02'], nads: ['lan'] });
const vmi = (
  interfaces: VMIInterfaceStatus[],
  phase: 'Running' | 'Succeeded' = 'Running',
): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'vm-a', namespace: 'default' },
  spec: vm().spec.template.spec,
  status: { phase, interfaces },
});
const drifting = vmi([
  {
    name: 'default',
    mac: '02:48:52:00:00:01',
    guestMac: '02:00:00:00:0B:01',
    infoSource: 'domain',
  },
  {
    name: 'net1',
    mac: '02:48:52:00:00:02',
    guestMac: '02:48:52:00:00:02',
    infoSource: 'domain, guest-agent',
  },
  { interfaceName: 'eth0', mac: '02:00:00:00:0b:01', infoSource: 'guest-agent' },
]);

const reason = (f: () => unknown): { reason: string; fields: string[] } => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof HarrowError);
    return { reason: e.reason, fields: (e.details.causes ?? []).map((c) => c.field) };
  }
  assert.fail('expected an error');
};

test('driftOf lists the spec interfaces whose guest MAC differs, lower-cased; guest-only entries are not interfaces', () => {
  assert.deepEqual(driftOf(drifting), [
    { interface: 'default', platformMac: '02:48:52:00:00:01', guestMac: '02:00:00:00:0b:01' },
  ]);
  assert.deepEqual(driftOf(undefined), []);
});

test('adopt sets the drifted interface to the guest MAC and leaves the VM it was given alone', () => {
  const original = vm();
  const { vm: next, adopted } = adoptGuestMacs(original, drifting, undefined);
  assert.deepEqual(
    next.spec.template.spec.domain.devices.interfaces?.map((i) => i.macAddress),
    ['02:00:00:00:0b:01', '02:48:52:00:00:02'],
  );
  assert.deepEqual(
    adopted.map((a) => a.field),
    ['spec.template.spec.domain.devices.interfaces[0].macAddress'],
  );
  assert.equal(
    original.spec.template.spec.domain.devices.interfaces?.[0]?.macAddress,
    '02:48:52:00:00:01',
  );
  assert.equal(adoptGuestMacs(vm(), drifting, ['default']).adopted.length, 1);
});

test('adopt refuses what it cannot do: not running (409), nothing drifted (409), a name that is no drifted interface (422, per index)', () => {
  assert.equal(reason(() => adoptGuestMacs(vm(), undefined, undefined)).reason, 'Conflict');
  assert.equal(
    reason(() => adoptGuestMacs(vm(), vmi(drifting.status!.interfaces!, 'Succeeded'), undefined))
      .reason,
    'Conflict',
  );
  assert.equal(
    reason(() =>
      adoptGuestMacs(
        vm(),
        vmi([{ name: 'default', mac: '02:48:52:00:00:01', guestMac: '02:48:52:00:00:01' }]),
        undefined,
      ),
    ).reason,
    'Conflict',
  );
  assert.deepEqual(
    reason(() => adoptGuestMacs(vm(), drifting, ['default', 'net1', 'nope'])),
    { reason: 'Invalid', fields: ['interfaces[1]', 'interfaces[2]'] },
  );
});

test('the remedies say when they were a dry run, and what they would have done', () => {
  const drift = driftOf(drifting);
  assert.equal(
    restoreMessage('vm-a', drift, false),
    'restarting vm-a: interface default gets 02:48:52:00:00:01 again (the guest uses 02:00:00:00:0b:01)',
  );
  assert.equal(
    restoreMessage('vm-a', drift, true),
    'dry run: nothing changed; vm-a would restart: interface default would get 02:48:52:00:00:01 again (the guest uses 02:00:00:00:0b:01)',
  );
  const { adopted } = adoptGuestMacs(vm(), drifting, undefined);
  assert.match(
    adoptMessage(adopted, false),
    /^interface default: macAddress .* applied at the next restart/,
  );
  assert.match(
    adoptMessage(adopted, true),
    /^dry run: nothing changed; .* would apply at the next restart$/,
  );
});
