// The pool's consistency check finds every way the MacAllocations can disagree with the manifests, and nothing else.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { checkPoolConsistency } from '../../src/allocation/consistency.ts';
import { MacAllocationService, allocationObject } from '../../src/allocation/service.ts';
import { macAllocationName, type VirtualMachine } from '../../src/resources/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';
import { admitVm, poolVm } from './allocation-fixtures.ts';

const vm = poolVm;

describe('checkPoolConsistency', () => {
  let store: ResourceStore;
  let macs: MacAllocationService;
  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    macs = await MacAllocationService.open(store);
  });
  afterEach(async () => {
    macs.close();
    await store.close();
  });

  const admit = (v: VirtualMachine): Promise<VirtualMachine> => admitVm(macs, store, v);

  test('a store written only through admission is consistent', async () => {
    await admit(vm('a', [undefined, undefined]));
    await admit(vm('b', ['52:54:00:00:00:01']));
    assert.deepEqual(await checkPoolConsistency(store), []);
  });

  test('each kind of difference is reported with the MAC and the VMs involved', async () => {
    const a = await admit(vm('a', [undefined, '52:54:00:00:00:02']));
    const [aMac] = a.spec.template.spec.domain.devices.interfaces!.map((i) => i.macAddress!);
    // missing-allocation and duplicate-in-manifests: manifests written behind admission's back
    await store.create(vm('c', ['52:54:00:00:00:03']));
    await store.create(vm('d', [aMac]));
    // wrong-holder: the allocation of a's second MAC names another interface
    const held = (await store.get({
      kind: 'MacAllocation',
      name: macAllocationName('52:54:00:00:00:02'),
    }))!;
    await store.update({
      ...held,
      spec: {
        ...(held.spec as object),
        owner: { kind: 'VirtualMachine', namespace: 'default', name: 'a', interface: 'nic0' },
      },
    });
    // orphan-allocation
    await store.create(
      allocationObject('52:54:00:00:00:04', '', {
        kind: 'VirtualMachine',
        namespace: 'default',
        name: 'gone',
        interface: 'nic0',
      }),
    );
    const kinds = (await checkPoolConsistency(store)).map((d) => [d.kind, d.macAddress]).sort();
    assert.deepEqual(
      kinds,
      [
        ['duplicate-in-manifests', aMac],
        ['missing-allocation', '52:54:00:00:00:03'],
        ['orphan-allocation', '52:54:00:00:00:04'],
        ['wrong-holder', '52:54:00:00:00:02'],
      ].sort(),
    );
  });

  test('a manifest MAC whose allocation is quarantined is reported', async () => {
    await admit(vm('a', ['52:54:00:00:00:05']));
    await macs.releaseUnreferenced('default', 'a', new Set());
    const [d] = await checkPoolConsistency(store);
    assert.equal(d?.kind, 'quarantined-in-use');
    assert.match(d!.message, /default\/a \(interface nic0\)/);
  });
});
