// The launcher: the guest NIC's MAC by KubeVirt's precedence, VMI phases, and what a restart of Harrow finds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startControllers } from '../../src/controllers/index.ts';
import type { GuestSpec, Runtime } from '../../src/runtime/types.ts';
import { createSimRuntime } from '../../src/runtime/sim/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import {
  counterMacAssigner,
  getVmi,
  podsOf,
  vmManifest,
  waitFor,
  waitForEvent,
} from './controllers-harness.ts';

/** The sim runtime, with the GuestSpecs it was given recorded. */
function recording(runtime: Runtime): { runtime: Runtime; started: GuestSpec[] } {
  const started: GuestSpec[] = [];
  return {
    started,
    runtime: new Proxy(runtime, {
      get(target, prop, receiver) {
        if (prop === 'startGuest') {
          return async (spec: GuestSpec) => {
            started.push(structuredClone(spec));
            return target.startGuest(spec);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }),
  };
}

describe('launcher on the sim runtime', () => {
  test('the guest gets cpus, memory and each NIC’s MAC, pod interface and network; the VMI goes Scheduled → Running', async () => {
    const store = await openSqliteStore(':memory:');
    const sim = createSimRuntime({ bootMs: 20 });
    const { runtime, started } = recording(sim);
    const phases: string[] = [];
    store.watch('VirtualMachineInstance', {}, (e) => {
      const p = (e.object.status as { phase?: string } | undefined)?.phase;
      if (p && phases[phases.length - 1] !== p) phases.push(p);
    });
    const controllers = await startControllers({
      store,
      runtime,
      macAssigner: counterMacAssigner(store),
      nodeName: 'node-7',
    });
    try {
      const vm = vmManifest('spec', { macs: ['02:00:00:00:40:01'] });
      vm.spec.template.spec.domain.cpu = { cores: 2, sockets: 1, threads: 2 };
      vm.spec.template.spec.domain.memory = { guest: '1Gi' };
      await store.create(vm);
      const vmi = await waitFor('running', async () => {
        const v = await getVmi(store, 'spec');
        return v?.status?.phase === 'Running' ? v : undefined;
      });
      assert.deepEqual(phases, ['Pending', 'Scheduled', 'Running']);
      assert.equal(vmi.status?.nodeName, 'node-7');
      const [pod] = await podsOf(store, 'spec');
      assert.deepEqual(started, [
        {
          vmiUid: vmi.metadata.uid,
          podUid: pod?.metadata.uid,
          namespace: 'default',
          name: 'spec',
          cpus: 4,
          memoryMiB: 1024,
          nics: [
            {
              name: 'default',
              mac: '02:00:00:00:40:01',
              podInterfaceName: 'eth0',
              networkId: 'podnet',
            },
          ],
        },
      ]);
    } finally {
      await controllers.stop();
      await sim.close();
      await store.close();
    }
  });

  test('after a restart of Harrow a guest with a VMI is adopted, one without is stopped, and a lost guest is restarted', async () => {
    const store = await openSqliteStore(':memory:');
    const sim = createSimRuntime({ bootMs: 20 });
    const first = await startControllers({
      store,
      runtime: sim,
      macAssigner: counterMacAssigner(store),
      nodeName: 'n',
    });
    let second: Awaited<ReturnType<typeof startControllers>> | undefined;
    let third: Awaited<ReturnType<typeof startControllers>> | undefined;
    const fresh = createSimRuntime({ bootMs: 20 });
    try {
      await store.create(vmManifest('keep', { macs: ['02:00:00:00:41:01'] }));
      await store.create(vmManifest('drop', { macs: ['02:00:00:00:41:02'] }));
      const keep = await waitFor('keep running', async () =>
        (await getVmi(store, 'keep'))?.status?.phase === 'Running'
          ? getVmi(store, 'keep')
          : undefined,
      );
      const drop = await waitFor('drop running', async () =>
        (await getVmi(store, 'drop'))?.status?.phase === 'Running'
          ? getVmi(store, 'drop')
          : undefined,
      );
      const [dropPod] = await podsOf(store, 'drop');
      await waitFor(
        'guests booted',
        async () =>
          (await sim.observe(drop!.metadata.uid as string))?.state === 'Running' &&
          (await sim.observe(keep!.metadata.uid as string))?.state === 'Running',
      );
      await first.stop();
      // While Harrow is down, the VM "drop" and everything of it disappear from the store; the runtime keeps running.
      await store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'drop' });
      await store.delete({ kind: 'VirtualMachineInstance', namespace: 'default', name: 'drop' });
      await store.delete({
        kind: 'Pod',
        namespace: 'default',
        name: dropPod?.metadata.name as string,
      });
      assert.equal((await sim.observe(drop!.metadata.uid as string))?.state, 'Running');

      second = await startControllers({
        store,
        runtime: sim,
        macAssigner: counterMacAssigner(store),
        nodeName: 'n',
      });
      await second.waitForIdle();
      assert.equal(
        (await sim.observe(keep!.metadata.uid as string))?.state,
        'Running',
        'adopted, not restarted',
      );
      assert.equal((await getVmi(store, 'keep'))?.metadata.uid, keep!.metadata.uid);
      assert.notEqual(
        (await sim.observe(drop!.metadata.uid as string))?.state,
        'Running',
        'orphan guest stopped',
      );
      const inventory = await sim.inventory();
      assert.ok(!inventory.pods.includes(dropPod?.metadata.uid as string), 'orphan pod torn down');
      await second.stop();
      second = undefined;

      // The host lost every guest (a fresh runtime): the Running VMI fails and runStrategy Always restarts it, same MAC.
      third = await startControllers({
        store,
        runtime: fresh,
        macAssigner: counterMacAssigner(store),
        nodeName: 'n',
      });
      const again = await waitFor('restarted on the fresh runtime', async () => {
        const v = await getVmi(store, 'keep');
        return v && v.metadata.uid !== keep!.metadata.uid && v.status?.phase === 'Running'
          ? v
          : undefined;
      });
      assert.equal(
        (await fresh.observe(again.metadata.uid as string))?.nics[0]?.deviceMac,
        '02:00:00:00:41:01',
      );
      await waitForEvent(
        store,
        'Failed',
        (e) =>
          e.involvedObject.uid === keep!.metadata.uid &&
          e.reason === 'Failed' &&
          /gone from the runtime/.test(e.message),
      );
    } finally {
      await second?.stop();
      await third?.stop();
      await sim.close();
      await fresh.close();
      await store.close();
    }
  });
});
