// The MAC pool persisted through the store: allocation, reservation, conflicts naming field and holder, quarantine, rebuild.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { Conflict, HarrowError } from '../../src/resources/errors.ts';
import {
  macAllocationName,
  type MacAllocation,
  type VirtualMachine,
} from '../../src/resources/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';
import { admitVm, poolVm } from './allocation-fixtures.ts';

const vm = poolVm;

const macsOf = (v: VirtualMachine): Array<string | undefined> =>
  (v.spec.template.spec.domain.devices.interfaces ?? []).map((i) => i.macAddress);

describe('MacAllocationService', () => {
  let store: ResourceStore;
  let now = 1_000_000;
  let macs: MacAllocationService;

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    now = 1_000_000;
    macs = await MacAllocationService.open(store, { quarantineSeconds: 60, now: () => now });
  });
  afterEach(async () => {
    macs.close();
    await store.close();
  });

  const admit = (next: VirtualMachine, old?: VirtualMachine): Promise<VirtualMachine> =>
    admitVm(macs, store, next, old);

  test('a VM with no MAC gets distinct pool MACs, each held by an allocation naming it', async () => {
    const a = await admit(vm('a', [undefined, undefined]));
    const [m0, m1] = macsOf(a);
    assert.match(m0!, /^02:48:52:/);
    assert.notEqual(m0, m1);
    const alloc = (await store.get({
      kind: 'MacAllocation',
      name: macAllocationName(m0!),
    })) as MacAllocation;
    assert.deepEqual(
      [alloc.spec.owner.name, alloc.spec.owner.interface, alloc.status.state],
      ['a', 'nic0', 'InUse'],
    );
  });

  test('a MAC another VM holds is refused with 409 naming the field and the holder', async () => {
    await admit(vm('a', ['52:54:00:00:00:01']));
    await assert.rejects(admit(vm('b', [undefined, '52:54:00:00:00:01'])), (e: unknown) => {
      assert.ok(e instanceof Conflict);
      assert.equal(e.code, 409);
      assert.equal(
        e.details.causes?.[0]?.field,
        'spec.template.spec.domain.devices.interfaces[1].macAddress',
      );
      assert.match(e.message, /in use by default\/a \(interface nic0\)/);
      return true;
    });
    // the refused create leaked nothing: only a's allocation exists
    assert.equal((await store.list('MacAllocation')).items.length, 1);
  });

  test('concurrent plans for one MAC: exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => admit(vm(`v${i}`, ['52:54:00:00:00:07']))),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.ok(r.reason instanceof Conflict, String(r.reason));
    assert.equal((await store.list('MacAllocation')).items.length, 1);
  });

  test('re-applying the same manifest keeps its MACs', async () => {
    const a = await admit(vm('a', [undefined]));
    const again = vm('a', [undefined]);
    again.metadata.resourceVersion = a.metadata.resourceVersion;
    const b = await admit(again, a);
    assert.deepEqual(macsOf(b), macsOf(a));
    assert.equal((await store.list('MacAllocation')).items.length, 1);
  });

  test('a released MAC is quarantined, not handed out before its time, then free again', async () => {
    const a = await admit(vm('a', ['02:48:52:00:00:10']));
    await store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'a' });
    const released = await macs.releaseUnreferenced('default', 'a', new Set());
    assert.equal(released.length, 1);
    assert.equal(released[0]!.status.state, 'Quarantined');
    await assert.rejects(admit(vm('b', macsOf(a))), /quarantined until/);
    now += 61_000;
    const { freed } = await macs.expireQuarantine();
    assert.deepEqual(freed, ['02:48:52:00:00:10']);
    const b = await admit(vm('b', macsOf(a)));
    assert.deepEqual(macsOf(b), ['02:48:52:00:00:10']);
  });

  test('the same VM may take back the MAC it released', async () => {
    const a = await admit(vm('a', ['02:48:52:00:00:11']));
    await macs.releaseUnreferenced('default', 'a', new Set());
    const back = vm('a', ['02:48:52:00:00:11']);
    back.metadata.resourceVersion = a.metadata.resourceVersion;
    await admit(back, a);
    const alloc = (await macs.holder('02:48:52:00:00:11'))!;
    assert.equal(alloc.status.state, 'InUse');
  });

  test('an exhausted pool is a clear 507 error, never a loop', async () => {
    await store.update({
      ...(await store.get({ kind: 'MacPool', name: 'default' }))!,
      spec: {
        ranges: [{ start: '02:00:00:00:01:00', end: '02:00:00:00:01:02' }],
        quarantineSeconds: 60,
      },
    });
    await new Promise((r) => setTimeout(r, 10));
    await admit(vm('a', [undefined, undefined, undefined]));
    await assert.rejects(admit(vm('b', [undefined])), (e: unknown) => {
      assert.ok(e instanceof HarrowError);
      assert.equal(e.code, 507);
      assert.match(e.message, /exhausted/);
      return true;
    });
  });

  test('a new service on the same store rebuilds the pool and never repeats a MAC', async () => {
    const first = await Promise.all(
      Array.from({ length: 50 }, (_, i) => admit(vm(`v${i}`, [undefined]))),
    );
    macs.close();
    macs = await MacAllocationService.open(store, { quarantineSeconds: 60, now: () => now });
    const second = await Promise.all(
      Array.from({ length: 50 }, (_, i) => admit(vm(`w${i}`, [undefined]))),
    );
    const all = [...first, ...second].map((v) => macsOf(v)[0]);
    assert.equal(new Set(all).size, 100);
  });
});
