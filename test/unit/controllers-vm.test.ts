// The vm controller: runStrategy and state change requests → VMI + launcher Pod, VM status, RestartRequired, crash restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ANNOTATION_NETWORKS,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VMIPhase,
} from '../../src/resources/types.ts';
import { crashLoopDelayMs, decide } from '../../src/controllers/run-strategy.ts';
import {
  nonLiveUpdatableChanges,
  RESTART_REQUIRED_MESSAGE,
} from '../../src/controllers/vm-status.ts';
import { podInterfaceName } from '../../src/network/interface-plans.ts';
import {
  getVm,
  getVmi,
  nadManifest,
  patchVm,
  podsOf,
  setRequests,
  startHarness,
  vmManifest,
  waitFor,
  waitRunning,
  type Harness,
  waitForEvent,
} from './controllers-harness.ts';

const condition = (
  o: { status?: { conditions?: Array<{ type: string }> } } | undefined,
  type: string,
) =>
  o?.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason?: string; message?: string } | undefined;

describe('decide (pure)', () => {
  const vm = (
    runStrategy: VirtualMachine['spec']['runStrategy'],
    requests: Array<{ action: 'Start' | 'Stop'; uid?: string }> = [],
  ): VirtualMachine => ({
    ...vmManifest('x', { runStrategy }),
    metadata: { name: 'x', namespace: 'default', uid: 'vm-uid' },
    status: { stateChangeRequests: requests },
  });
  const vmi = (uid: string, phase: VMIPhase): VirtualMachineInstance => ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'x', namespace: 'default', uid },
    spec: vmManifest('x').spec.template.spec,
    status: { phase },
  });

  test('Always starts a VM without VMI; Halted stops one', () => {
    assert.deepEqual(
      [decide(vm('Always'), undefined, 0).start, decide(vm('Always'), undefined, 0).stop],
      [true, false],
    );
    const halted = decide(vm('Halted'), vmi('a', 'Running'), 0);
    assert.deepEqual([halted.start, halted.stop], [false, true]);
  });

  test('a restart is Stop(uid of the current VMI) then Start; a Stop naming another VMI is ignored', () => {
    const restart = decide(
      vm('Manual', [{ action: 'Stop', uid: 'a' }, { action: 'Start' }]),
      vmi('a', 'Running'),
      0,
    );
    assert.deepEqual([restart.stop, restart.start], [true, true]);
    const stale = decide(vm('Manual', [{ action: 'Stop', uid: 'old' }]), vmi('a', 'Running'), 0);
    assert.deepEqual([stale.stop, stale.start], [false, false]);
  });

  test('Manual leaves a finished VMI alone; RerunOnFailure reruns only a failed one', () => {
    assert.equal(decide(vm('Manual'), vmi('a', 'Failed'), 0).start, false);
    assert.equal(decide(vm('RerunOnFailure'), vmi('a', 'Succeeded'), 0).start, false);
    const failed = decide(vm('RerunOnFailure'), vmi('a', 'Failed'), 0);
    assert.deepEqual([failed.stop, failed.start], [true, true]);
    const succeeded = decide(vm('Always'), vmi('a', 'Succeeded'), 0);
    assert.deepEqual([succeeded.stop, succeeded.start], [true, true]);
  });

  test('repeated failures back off (crash loop) and say so', () => {
    const v = vm('Always');
    v.status = {
      startFailure: {
        consecutiveFailCount: 1,
        lastFailedVMIUID: 'a',
        retryAfterTimestamp: new Date(0).toISOString(),
      },
    };
    const d = decide(v, vmi('b', 'Failed'), 1000);
    assert.equal(d.crashLoop, true);
    assert.equal(d.startFailure?.consecutiveFailCount, 2);
    assert.equal(d.requeueAfter, crashLoopDelayMs(2));
    assert.equal(d.start, false);
  });
});

describe('nonLiveUpdatableChanges (pure)', () => {
  test('names a changed MAC, and nothing when the VMI runs the template', () => {
    const vm = vmManifest('x', { macs: ['02:00:00:00:00:01'] });
    const vmi: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'x', namespace: 'default' },
      spec: structuredClone(vm.spec.template.spec),
    };
    assert.deepEqual(nonLiveUpdatableChanges(vm.spec.template.spec, vmi, 'default'), []);
    (vm.spec.template.spec.domain.devices.interfaces ?? [])[0]!.macAddress = '02:00:00:00:00:02';
    assert.deepEqual(nonLiveUpdatableChanges(vm.spec.template.spec, vmi, 'default'), [
      'interface default: macAddress 02:00:00:00:00:01 → 02:00:00:00:00:02',
    ]);
  });
});

describe('vm controller on the sim runtime', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.store.create(nadManifest('blue', { ipam: { subnet: '198.18.5.0/24' } }));
  });
  after(async () => h.close());

  test('a VM with runStrategy Always gets a VMI, a launcher Pod asking for its MACs, network-status, and a running guest', async () => {
    await h.store.create(
      vmManifest('web', { macs: ['02:00:00:00:10:01', '02:00:00:00:10:02'], nads: ['blue'] }),
    );
    const vmi = await waitRunning(h, 'web');
    const vm = (await getVm(h.store, 'web')) as VirtualMachine;
    assert.equal(vmi.metadata.ownerReferences?.[0]?.uid, vm.metadata.uid);
    assert.equal(vmi.metadata.labels?.['vm.kubevirt.io/name'], 'web');
    assert.equal(vmi.metadata.labels?.app, 'web');
    const [pod] = (await podsOf(h.store, 'web')) as [Pod];
    assert.match(pod.metadata.name, /^virt-launcher-web-[a-z0-9]{5}$/);
    assert.equal(pod.metadata.labels?.['kubevirt.io/created-by'], vmi.metadata.uid);
    assert.equal(pod.metadata.ownerReferences?.[0]?.uid, vmi.metadata.uid);
    assert.deepEqual(JSON.parse(pod.metadata.annotations?.[ANNOTATION_NETWORKS] ?? ''), [
      {
        name: 'blue',
        namespace: 'default',
        mac: '02:00:00:00:10:02',
        interface: podInterfaceName({ name: 'net1', multus: { networkName: 'blue' } }),
      },
    ]);
    const status = JSON.parse(
      pod.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
    ) as Array<{ name: string; mac: string; interface: string }>;
    assert.deepEqual(
      status.map((s) => [s.name, s.interface, s.mac]),
      [
        ['harrow-pod-network', 'eth0', '02:00:00:00:10:01'],
        [
          'default/blue',
          podInterfaceName({ name: 'net1', multus: { networkName: 'blue' } }),
          '02:00:00:00:10:02',
        ],
      ],
    );
    assert.equal(pod.status?.phase, 'Running');
    const obs = await h.runtime.observe(vmi.metadata.uid ?? '');
    assert.equal(obs?.state, 'Running');
    assert.deepEqual(
      obs?.nics.map((n) => n.deviceMac),
      ['02:00:00:00:10:01', '02:00:00:00:10:02'],
    );
    await waitFor(
      'VM Running',
      async () => (await getVm(h.store, 'web'))?.status?.printableStatus === 'Running',
    );
    const final = (await getVm(h.store, 'web')) as VirtualMachine;
    assert.equal(final.status?.ready, true);
    assert.equal(condition(final, 'Ready')?.status, 'True');
    await waitForEvent(
      h.store,
      'SuccessfulCreate',
      (e) =>
        e.involvedObject.name === 'web' &&
        e.reason === 'SuccessfulCreate' &&
        e.involvedObject.kind === 'VirtualMachine',
    );
    await waitForEvent(
      h.store,
      'Started',
      (e) => e.involvedObject.kind === 'VirtualMachineInstance' && e.reason === 'Started',
    );
  });

  test('Stop, Start and Restart through stateChangeRequests; a restart makes a new VMI and pod', async () => {
    await h.store.create(vmManifest('svc', { runStrategy: 'Manual', macs: ['02:00:00:00:11:01'] }));
    await waitFor(
      'Manual VM stays Stopped',
      async () => (await getVm(h.store, 'svc'))?.status?.printableStatus === 'Stopped',
    );
    assert.equal(await getVmi(h.store, 'svc'), undefined);
    await setRequests(h.store, 'svc', [{ action: 'Start' }]);
    const first = await waitRunning(h, 'svc');
    await waitFor(
      'requests consumed',
      async () => (await getVm(h.store, 'svc'))?.status?.stateChangeRequests === undefined,
    );
    await setRequests(h.store, 'svc', [
      { action: 'Stop', uid: first.metadata.uid as string },
      { action: 'Start' },
    ]);
    const second = await waitFor('a new VMI', async () => {
      const v = await getVmi(h.store, 'svc');
      return v && v.metadata.uid !== first.metadata.uid && v.status?.phase === 'Running'
        ? v
        : undefined;
    });
    assert.equal(
      await h.runtime.observe(first.metadata.uid as string),
      undefined,
      'the old guest is gone with its pod',
    );
    const pods = await waitFor('one pod', async () => {
      const p = await podsOf(h.store, 'svc');
      return p.length === 1 ? p : undefined;
    });
    assert.equal(pods[0]?.metadata.labels?.['kubevirt.io/created-by'], second.metadata.uid);
    await setRequests(h.store, 'svc', [{ action: 'Stop', uid: second.metadata.uid as string }]);
    await waitFor(
      'stopped',
      async () =>
        (await getVm(h.store, 'svc'))?.status?.printableStatus === 'Stopped' &&
        !(await getVmi(h.store, 'svc')),
    );
    await waitFor('pod gone', async () => (await podsOf(h.store, 'svc')).length === 0);
    await waitFor(
      'guest gone',
      async () => (await h.runtime.observe(second.metadata.uid as string)) === undefined,
    );
    await waitForEvent(
      h.store,
      'SuccessfulDelete',
      (e) => e.involvedObject.name === 'svc' && e.reason === 'SuccessfulDelete',
    );
  });

  test('RestartRequired is set when a running VM’s MAC changes in the template and cleared after the restart', async () => {
    await h.store.create(vmManifest('db', { macs: ['02:00:00:00:12:01'] }));
    const first = await waitRunning(h, 'db');
    await patchVm(h.store, 'db', (vm) => {
      vm.spec.template.spec.domain.devices.interfaces![0]!.macAddress = '02:00:00:00:12:99';
    });
    const rr = await waitFor('RestartRequired', async () =>
      condition(await getVm(h.store, 'db'), 'RestartRequired'),
    );
    assert.equal(rr.status, 'True');
    assert.equal(rr.reason, 'NonLiveUpdatableFieldChanged');
    assert.ok(rr.message?.startsWith(RESTART_REQUIRED_MESSAGE), rr.message);
    assert.match(rr.message ?? '', /02:00:00:00:12:01 → 02:00:00:00:12:99/);
    // The running guest keeps its MAC until the restart.
    assert.equal(
      (await h.runtime.observe(first.metadata.uid as string))?.nics[0]?.deviceMac,
      '02:00:00:00:12:01',
    );
    await setRequests(h.store, 'db', [
      { action: 'Stop', uid: first.metadata.uid as string },
      { action: 'Start' },
    ]);
    const second = await waitFor('new VMI running', async () => {
      const v = await getVmi(h.store, 'db');
      return v && v.metadata.uid !== first.metadata.uid && v.status?.phase === 'Running'
        ? v
        : undefined;
    });
    assert.equal(
      (await h.runtime.observe(second.metadata.uid as string))?.nics[0]?.deviceMac,
      '02:00:00:00:12:99',
    );
    await waitFor(
      'RestartRequired cleared',
      async () => !condition(await getVm(h.store, 'db'), 'RestartRequired'),
    );
    assert.deepEqual(JSON.parse(second.metadata.annotations?.['harrow.io/previous-macs'] ?? '{}'), {
      default: '02:00:00:00:12:01',
    });
    const audits = (await h.store.list('AuditRecord', { namespace: 'default' })).items;
    const applied = audits.find(
      (a) =>
        (a.spec as { verb: string }).verb === 'restart-applied' &&
        (a.spec as { resource: { name: string } }).resource.name === 'db',
    );
    assert.deepEqual((applied?.spec as { changes: unknown }).changes, [
      {
        field: 'spec.template.spec.domain.devices.interfaces[0].macAddress',
        old: '02:00:00:00:12:01',
        new: '02:00:00:00:12:99',
      },
    ]);
  });

  test('a crashed guest under Always is restarted with the same MACs', async () => {
    await h.store.create(
      vmManifest('crashy', { macs: ['02:00:00:00:13:01', '02:00:00:00:13:02'], nads: ['blue'] }),
    );
    const first = await waitRunning(h, 'crashy');
    h.runtime.crash(first.metadata.uid as string);
    const second = await waitFor('restarted', async () => {
      const v = await getVmi(h.store, 'crashy');
      return v && v.metadata.uid !== first.metadata.uid && v.status?.phase === 'Running'
        ? v
        : undefined;
    });
    const obs = await h.runtime.observe(second.metadata.uid as string);
    assert.deepEqual(
      obs?.nics.map((n) => n.deviceMac),
      ['02:00:00:00:13:01', '02:00:00:00:13:02'],
    );
    const vm = (await getVm(h.store, 'crashy')) as VirtualMachine & {
      status: { startFailure?: { consecutiveFailCount: number } };
    };
    assert.equal(vm.status.startFailure?.consecutiveFailCount, 1);
    await waitForEvent(
      h.store,
      'Failed',
      (e) =>
        e.involvedObject.uid === first.metadata.uid &&
        e.reason === 'Failed' &&
        e.type === 'Warning',
    );
  });

  test('deleting a VM deletes its VMI and pod and stops the guest', async () => {
    await h.store.create(vmManifest('gone', { macs: ['02:00:00:00:14:01'] }));
    const vmi = await waitRunning(h, 'gone');
    await h.store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'gone' });
    await waitFor('VMI deleted', async () => !(await getVmi(h.store, 'gone')));
    await waitFor('pod deleted', async () => (await podsOf(h.store, 'gone')).length === 0);
    await waitFor(
      'guest gone',
      async () => (await h.runtime.observe(vmi.metadata.uid as string)) === undefined,
    );
    const inventory = await h.runtime.inventory();
    assert.ok(!inventory.guests.includes(vmi.metadata.uid as string));
  });

  test('runStrategy Halted stops a running VM', async () => {
    await h.store.create(vmManifest('halt', { macs: ['02:00:00:00:15:01'] }));
    const vmi = await waitRunning(h, 'halt');
    await patchVm(h.store, 'halt', (vm) => {
      vm.spec.runStrategy = 'Halted';
    });
    await waitFor(
      'Stopped',
      async () => (await getVm(h.store, 'halt'))?.status?.printableStatus === 'Stopped',
    );
    await waitFor(
      'guest gone',
      async () => (await h.runtime.observe(vmi.metadata.uid as string)) === undefined,
    );
    const vm = await getVm(h.store, 'halt');
    assert.equal(condition(vm, 'Ready')?.reason, 'VMINotExists');
  });
});
