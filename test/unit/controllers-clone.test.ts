// The clone controller on a real store, the real MAC pool and the apiserver's admission: stopped and running sources,
// MACs from the pool or given, a given MAC another VM holds, a source that appears later, a target that exists.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import { virtualMachineCloneAdmission } from '../../src/apiserver/admission/virtualmachineclone.ts';
import type { AdmissionPlugin } from '../../src/apiserver/admission/types.ts';
import { admitAndCommit } from '../../src/apiserver/writes.ts';
import { startControllers, type RunningControllers } from '../../src/controllers/index.ts';
import { kindInfo } from '../../src/resources/kinds.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { AuditRecord, VirtualMachine } from '../../src/resources/types.ts';
import type { VirtualMachineClone } from '../../src/resources/virtualmachineclone.ts';
import { createSimRuntime, type SimRuntime } from '../../src/runtime/sim/index.ts';
import { macAssigner } from '../../src/server/mac-assigner.ts';
import { admittedVmCreator } from '../../src/server/vm-creator.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';
import { getVm, getVmi, vmManifest, waitFor, waitForEvent } from './controllers-harness.ts';

const user = { name: 'tester', groups: ['system:masters'] };

describe('clone controller', () => {
  let store: ResourceStore;
  let runtime: SimRuntime;
  let macs: MacAllocationService;
  let controllers: RunningControllers;
  let admission: AdmissionPlugin[];

  const create = async (kind: string, object: KubeObject): Promise<KubeObject> =>
    (
      await admitAndCommit(
        { store, admission },
        {
          info: kindInfo(kind),
          operation: 'create',
          object,
          user,
          dryRun: false,
          verb: 'create',
          code: 201,
        },
      )
    ).object;

  const cloneOf = (
    name: string,
    source: string,
    target: string,
    newMacAddresses?: Record<string, string>,
  ): VirtualMachineClone => ({
    apiVersion: 'clone.kubevirt.io/v1beta1',
    kind: 'VirtualMachineClone',
    metadata: { name, namespace: 'default' },
    spec: {
      source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: source },
      target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target },
      ...(newMacAddresses ? { newMacAddresses } : {}),
    },
  });

  const finished = (name: string): Promise<VirtualMachineClone> =>
    waitFor(`clone ${name} finished`, async () => {
      const c = (await store.get({ kind: 'VirtualMachineClone', namespace: 'default', name })) as
        VirtualMachineClone | undefined;
      return c?.status?.phase === 'Succeeded' || c?.status?.phase === 'Failed' ? c : undefined;
    });

  const macsOf = (vm: VirtualMachine | undefined): Array<string | undefined> =>
    (vm?.spec.template.spec.domain.devices.interfaces ?? []).map((i) => i.macAddress);

  before(async () => {
    store = await openSqliteStore(':memory:');
    runtime = createSimRuntime({ bootMs: 10 });
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    macs = await MacAllocationService.open(store, { quarantineSeconds: 60 });
    admission = [virtualMachineAdmission(store, macs), virtualMachineCloneAdmission(store, macs)];
    controllers = await startControllers({
      store,
      runtime,
      macAssigner: macAssigner(store, macs),
      macReleaser: macs,
      vmCreator: admittedVmCreator(store, admission),
      nodeName: 'node-1',
      observerPollMs: 200,
    });
  });
  after(async () => {
    await controllers?.stop();
    macs?.close();
    await runtime?.close();
    await store?.close();
  });

  test('a stopped VM is cloned with new pool MACs, a given MAC, no MAC-remembering annotation; status, event and audit', async () => {
    const src = vmManifest('stopped-src', { runStrategy: 'Halted', nads: ['lan'] });
    src.metadata.annotations = { 'harvesterhci.io/mac-address': '{}' };
    const source = (await create('VirtualMachine', src)) as VirtualMachine;
    await create(
      'VirtualMachineClone',
      cloneOf('c-stopped', 'stopped-src', 'stopped-dst', { net1: '02:aa:bb:00:00:01' }),
    );
    const done = await finished('c-stopped');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.equal(done.status?.targetName, 'stopped-dst');
    assert.equal(done.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const target = await getVm(store, 'stopped-dst');
    const [podMac, givenMac] = macsOf(target);
    assert.match(podMac ?? '', /^02:48:52:/, 'a pool MAC');
    assert.equal(givenMac, '02:aa:bb:00:00:01');
    assert.ok(!macsOf(source).includes(podMac), 'not the source MAC');
    assert.equal(target?.metadata.annotations?.['harvesterhci.io/mac-address'], undefined);
    assert.equal(target?.spec.runStrategy, 'Halted', 'keeps the source runStrategy');
    for (const mac of macsOf(target)) {
      const a = await macs.holder(mac!);
      assert.equal(a?.spec.owner.name, 'stopped-dst', `${mac} reserved for the clone`);
    }
    // The controller writes the Succeeded status first, then the Event and the audit record: wait for them.
    await waitForEvent(
      store,
      'CloneSucceeded for c-stopped',
      (e) => e.involvedObject.name === 'c-stopped' && e.reason === 'CloneSucceeded',
    );
    const audit = await waitFor('the clone audit record', async () => {
      const records = (await store.list('AuditRecord', { namespace: 'default' }))
        .items as AuditRecord[];
      return records.some(
        (r) =>
          r.spec.verb === 'clone' &&
          r.spec.resource.name === 'c-stopped' &&
          r.spec.outcome.status === 'Success',
      )
        ? records
        : undefined;
    });
    assert.ok(
      audit.some((r) => r.spec.verb === 'create' && r.spec.resource.name === 'stopped-dst'),
      'the VM create is audited like a user one',
    );
  });

  test('a running VM is cloned: the clone starts with its own MAC while the source keeps running', async () => {
    const source = (await create(
      'VirtualMachine',
      vmManifest('run-src', { runStrategy: 'Always' }),
    )) as VirtualMachine;
    await waitFor(
      'run-src running',
      async () => (await getVmi(store, 'run-src'))?.status?.phase === 'Running',
    );
    await create('VirtualMachineClone', cloneOf('c-run', 'run-src', 'run-dst'));
    assert.equal((await finished('c-run')).status?.phase, 'Succeeded');
    const vmi = await waitFor('run-dst running', async () => {
      const v = await getVmi(store, 'run-dst');
      return v?.status?.phase === 'Running' ? v : undefined;
    });
    const mac = macsOf(await getVm(store, 'run-dst'))[0];
    assert.notEqual(mac, macsOf(source)[0]);
    assert.equal(vmi.spec.domain.devices.interfaces?.[0]?.macAddress, mac);
    assert.equal((await getVmi(store, 'run-src'))?.status?.phase, 'Running');
  });

  test('a given MAC another VM holds fails the clone naming field and holder; admission refuses it up front', async () => {
    const holder = (await create(
      'VirtualMachine',
      vmManifest('holder', { runStrategy: 'Halted' }),
    )) as VirtualMachine;
    const held = macsOf(holder)[0]!;
    await assert.rejects(
      create('VirtualMachineClone', cloneOf('c-held', 'holder', 'held-dst', { default: held })),
      (e: unknown) => {
        const err = e as {
          code: number;
          details: { causes?: Array<{ field: string; message: string }> };
        };
        assert.equal(err.code, 409);
        assert.equal(err.details.causes?.[0]?.field, 'spec.newMacAddresses["default"]');
        assert.match(err.details.causes?.[0]?.message ?? '', /default\/holder/);
        return true;
      },
    );
    // Past admission (the MAC taken after the clone was admitted): the target's own admission refuses it.
    await create(
      'VirtualMachineClone',
      cloneOf('c-late', 'holder', 'late-dst', { default: '02:aa:bb:00:00:77' }),
    );
    const other = vmManifest('late-taker', { runStrategy: 'Halted', macs: ['02:aa:bb:00:00:77'] });
    await create('VirtualMachine', other).catch(() => undefined);
    const done = await finished('c-late');
    if (done.status?.phase === 'Failed') {
      const ready = done.status.conditions?.find((c) => c.type === 'Ready');
      assert.match(ready?.message ?? '', /02:aa:bb:00:00:77/);
      assert.match(ready?.message ?? '', /late-taker/);
      assert.equal(await getVm(store, 'late-dst'), undefined);
    } else {
      // The clone won the race: then the other VM was refused instead, and the MAC is the clone's.
      assert.equal(macsOf(await getVm(store, 'late-dst'))[0], '02:aa:bb:00:00:77');
      assert.equal(await getVm(store, 'late-taker'), undefined);
    }
  });

  test('a clone waits for a source that does not exist yet (and fails then if it names an interface the source lacks); a clone onto an existing VM is refused', async () => {
    await create('VirtualMachineClone', cloneOf('c-wait', 'later', 'later-dst'));
    await waitFor('SourceDoesNotExist', async () => {
      const c = (await store.get({
        kind: 'VirtualMachineClone',
        namespace: 'default',
        name: 'c-wait',
      })) as VirtualMachineClone;
      if (
        c.status?.conditions?.find((x) => x.type === 'Progressing')?.reason !== 'SourceDoesNotExist'
      )
        return false;
      // The README's phases: empty (KubeVirt's unset phase) while waiting, never another value.
      assert.equal(c.status?.phase, '');
      return true;
    });
    await create(
      'VirtualMachineClone',
      cloneOf('c-wait-bad', 'later', 'later-bad', { nope: '02:aa:bb:00:00:99' }),
    );
    await create('VirtualMachine', vmManifest('later', { runStrategy: 'Halted' }));
    assert.equal((await finished('c-wait')).status?.phase, 'Succeeded');
    const bad = await finished('c-wait-bad');
    assert.equal(bad.status?.phase, 'Failed');
    assert.match(
      bad.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      /"nope".*no such interface/,
    );
    await assert.rejects(
      create('VirtualMachineClone', cloneOf('c-exists', 'later', 'holder')),
      (e: unknown) => {
        assert.equal(
          (e as { details: { causes?: Array<{ field: string }> } }).details.causes?.[0]?.field,
          'spec.target.name',
        );
        return true;
      },
    );
  });

  test('20 clones at once get 20 distinct MACs and all start', async () => {
    await create('VirtualMachine', vmManifest('many-src', { runStrategy: 'Always' }));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        create('VirtualMachineClone', cloneOf(`c-many-${i}`, 'many-src', `many-${i}`)),
      ),
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => finished(`c-many-${i}`)),
    );
    assert.deepEqual(
      results.map((r) => r.status?.phase),
      Array(20).fill('Succeeded'),
    );
    const all = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => macsOf(await getVm(store, `many-${i}`))[0]),
    );
    assert.equal(new Set(all).size, 20, JSON.stringify(all));
    await waitFor(
      '20 clones running',
      async () => {
        const vmis = await Promise.all(
          Array.from({ length: 20 }, (_, i) => getVmi(store, `many-${i}`)),
        );
        return vmis.every((v) => v?.status?.phase === 'Running');
      },
      20_000,
    );
  });
});
