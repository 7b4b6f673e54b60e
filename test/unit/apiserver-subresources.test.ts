// KubeVirt's start/stop/restart semantics, and interfacelist / guest-exec against a guest of the sim runtime.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { applyVmAction, runStrategyOf } from '../../src/apiserver/vm-actions.ts';
import { HarrowError } from '../../src/resources/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../../src/resources/types.ts';
import { createSimRuntime, type SimRuntime } from '../../src/runtime/sim/index.ts';
import type { NetworkSpec } from '../../src/runtime/types.ts';
import { VMIS, auditRecords, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
let runtime: SimRuntime | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await runtime?.close();
  runtime = undefined;
});

const SUB = '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines';

const vm = (
  spec: Partial<VirtualMachine['spec']>,
  status?: VirtualMachine['status'],
): VirtualMachine =>
  ({
    ...vmManifest('web', spec),
    metadata: { name: 'web', namespace: 'default' },
    ...(status ? { status } : {}),
  }) as VirtualMachine;
const vmi = (phase: string): VirtualMachineInstance =>
  ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'web', namespace: 'default', uid: 'vmi-uid-1' },
    spec: { domain: { devices: {} } },
    status: { phase },
  }) as VirtualMachineInstance;

const conflict =
  (message: RegExp) =>
  (e: HarrowError): boolean =>
    e.code === 409 && e.reason === 'Conflict' && message.test(e.message);

describe('start/stop/restart rules (KubeVirt)', () => {
  it('start: Halted becomes Always (or running: true), Manual asks for a Start, a running VM is a Conflict', () => {
    assert.equal(
      applyVmAction('start', vm({ runStrategy: 'Halted' }), undefined).spec.runStrategy,
      'Always',
    );
    const legacy = applyVmAction(
      'start',
      vm({ runStrategy: undefined, running: false }),
      undefined,
    );
    assert.equal(legacy.spec.running, true);
    assert.equal(legacy.spec.runStrategy, undefined);
    assert.deepEqual(
      applyVmAction('start', vm({ runStrategy: 'Manual' }), undefined).status?.stateChangeRequests,
      [{ action: 'Start' }],
    );
    assert.throws(
      () => applyVmAction('start', vm({ runStrategy: 'Always' }), vmi('Running')),
      conflict(/VM is already running/),
    );
    assert.throws(
      () => applyVmAction('start', vm({ runStrategy: 'Always' }), undefined),
      conflict(/Always does not support manual start requests/),
    );
    assert.throws(
      () => applyVmAction('start', vm({ runStrategy: 'RerunOnFailure' }), vmi('Failed')),
      conflict(/failed state/),
    );
  });

  it('stop: Always and RerunOnFailure become Halted, Manual asks to Stop the current VMI, a stopped VM is a Conflict', () => {
    assert.equal(
      applyVmAction('stop', vm({ runStrategy: 'Always' }), vmi('Running')).spec.runStrategy,
      'Halted',
    );
    assert.equal(
      applyVmAction('stop', vm({ runStrategy: 'RerunOnFailure' }), vmi('Running')).spec.runStrategy,
      'Halted',
    );
    assert.equal(
      applyVmAction('stop', vm({ runStrategy: undefined, running: true }), vmi('Running')).spec
        .running,
      false,
    );
    assert.deepEqual(
      applyVmAction('stop', vm({ runStrategy: 'Manual' }), vmi('Running')).status
        ?.stateChangeRequests,
      [{ action: 'Stop', uid: 'vmi-uid-1' }],
    );
    assert.throws(
      () => applyVmAction('stop', vm({ runStrategy: 'Manual' }), undefined),
      conflict(/VM is not running/),
    );
    assert.throws(
      () => applyVmAction('stop', vm({ runStrategy: 'Halted' }), vmi('Succeeded')),
      conflict(/VM is not running/),
    );
  });

  it('restart: appends Stop(current VMI) and Start to pending requests; needs a running VMI', () => {
    const pending = vm({ runStrategy: 'Always' }, { stateChangeRequests: [{ action: 'Start' }] });
    assert.deepEqual(
      applyVmAction('restart', pending, vmi('Running')).status?.stateChangeRequests,
      [{ action: 'Start' }, { action: 'Stop', uid: 'vmi-uid-1' }, { action: 'Start' }],
    );
    assert.throws(
      () => applyVmAction('restart', vm({ runStrategy: 'Always' }), undefined),
      conflict(/VM is not running/),
    );
    assert.throws(
      () => applyVmAction('restart', vm({ runStrategy: 'Always' }), vmi('Failed')),
      conflict(/VM is not running/),
    );
    assert.throws(
      () => applyVmAction('restart', vm({ runStrategy: 'Halted' }), vmi('Running')),
      conflict(/Halted does not support manual restart/),
    );
  });

  it('a VM without runStrategy or running is Halted', () => {
    assert.equal(runStrategyOf(vm({ runStrategy: undefined })), 'Halted');
  });
});

describe('start/stop/restart over HTTP', () => {
  it('answers 202, writes the VM with an audit record, and 409/404 when the action does not apply', async () => {
    h = await startServer();
    await h.request(
      'POST',
      '/apis/kubevirt.io/v1/namespaces/default/virtualmachines',
      vmManifest('web'),
    );
    const started = await h.request('PUT', `${SUB}/web/start`);
    assert.equal(started.status, 202, started.body);
    assert.equal(started.body, '');
    const stored = (await h.store.get({
      kind: 'VirtualMachine',
      namespace: 'default',
      name: 'web',
    })) as VirtualMachine;
    assert.equal(stored.spec.runStrategy, 'Always');

    const vmiObject: KubeObject = {
      ...vmi('Running'),
      metadata: { name: 'web', namespace: 'default' },
    };
    const createdVmi = await h.store.create(vmiObject);
    const restart = await h.request(
      'PUT',
      `${SUB}/web/restart`,
      {},
      { 'content-type': 'application/json' },
    );
    assert.equal(restart.status, 202, restart.body);
    const afterRestart = (await h.store.get({
      kind: 'VirtualMachine',
      namespace: 'default',
      name: 'web',
    })) as VirtualMachine;
    assert.deepEqual(afterRestart.status?.stateChangeRequests, [
      { action: 'Stop', uid: createdVmi.metadata.uid },
      { action: 'Start' },
    ]);

    const again = await h.request('PUT', `${SUB}/web/start`);
    assert.equal(again.status, 409);
    assert.match(again.json.message, /VM is already running/);
    assert.equal((await h.request('PUT', `${SUB}/ghost/stop`)).status, 404);

    const dry = await h.request('PUT', `${SUB}/web/stop`, { dryRun: ['All'] });
    assert.equal(dry.status, 202);
    assert.equal(
      (
        (await h.store.get({
          kind: 'VirtualMachine',
          namespace: 'default',
          name: 'web',
        })) as VirtualMachine
      ).spec.runStrategy,
      'Always',
    );
    assert.equal((await h.request('PUT', `${SUB}/web/stop`)).status, 202);
    assert.equal(
      (
        (await h.store.get({
          kind: 'VirtualMachine',
          namespace: 'default',
          name: 'web',
        })) as VirtualMachine
      ).spec.runStrategy,
      'Halted',
    );

    const verbs = (await auditRecords(h.store)).map((r) => {
      const s = r.spec as {
        verb: string;
        outcome: { code: number };
        changes?: Array<{ field: string; old?: unknown; new?: unknown }>;
      };
      return `${s.verb} ${s.outcome.code}`;
    });
    assert.deepEqual(verbs, [
      'create 201',
      'start 202',
      'restart 202',
      'start 409',
      'stop 404',
      'stop 202',
    ]);
    const startRecord = (await auditRecords(h.store))[1]!.spec as { changes: unknown };
    assert.deepEqual(startRecord.changes, [
      { field: 'spec.runStrategy', old: 'Halted', new: 'Always' },
    ]);
  });
});

const net: NetworkSpec = {
  id: 'podnet',
  name: 'default/pod',
  cidr: '198.18.7.0/24',
  gateway: '198.18.7.1',
  dhcpRange: { start: '198.18.7.10', end: '198.18.7.50' },
};

/** A VMI whose guest really runs in the sim runtime (its agent connected). */
async function runningGuest(harness: Harness, rt: SimRuntime, name: string): Promise<KubeObject> {
  const vmiObject = await harness.store.create({
    ...vmi('Running'),
    metadata: { name, namespace: 'default' },
  });
  const uid = vmiObject.metadata.uid!;
  await rt.ensureNetwork(net);
  await rt.setupPod({
    podUid: `pod-${uid}`,
    namespace: 'default',
    podName: `virt-launcher-${name}-abcde`,
    interfaces: [
      {
        name: 'default',
        network: net,
        podInterfaceName: 'eth0',
        mac: '02:aa:00:00:00:07',
        binding: 'bridge',
      },
    ],
  });
  await rt.startGuest({
    vmiUid: uid,
    podUid: `pod-${uid}`,
    namespace: 'default',
    name,
    cpus: 1,
    memoryMiB: 128,
    nics: [
      { name: 'default', mac: '02:aa:00:00:00:07', podInterfaceName: 'eth0', networkId: net.id },
    ],
  });
  // Generous (the machine may be busy), and a guest that never gets its address fails here, naming it.
  const deadline = Date.now() + 30_000;
  while (!(await rt.observe(uid))?.agent?.interfaces[0]?.ipAddresses.length) {
    assert.ok(Date.now() < deadline, `${name}'s guest agent reports no address after 30 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return vmiObject;
}

describe('interfacelist and guest-exec', () => {
  it('interfacelist lists what the guest agent reports', async () => {
    runtime = createSimRuntime({ bootMs: 5 });
    h = await startServer({ runtime });
    await runningGuest(h, runtime, 'web');
    const r = await h.request(
      'GET',
      '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/web/interfacelist',
    );
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.items, [
      {
        interfaceName: 'eth0',
        mac: '02:aa:00:00:00:07',
        ipAddresses: ['198.18.7.10'],
        ipAddress: '198.18.7.10',
      },
    ]);
  });

  it('guest-exec runs a command in the guest and is audited', async () => {
    runtime = createSimRuntime({ bootMs: 5 });
    h = await startServer({ runtime });
    await runningGuest(h, runtime, 'web');
    const exec =
      '/apis/subresources.harrow.io/v1/namespaces/default/virtualmachineinstances/web/guest-exec';
    const r = await h.request('POST', exec, { command: ['cat', '/sys/class/net/eth0/address'] });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json, { exitCode: 0, stdout: '02:aa:00:00:00:07\n', stderr: '' });
    const [record] = await auditRecords(h.store);
    assert.deepEqual((record?.spec as { verb: string; changes: unknown }).changes, [
      { field: 'command', new: ['cat', '/sys/class/net/eth0/address'] },
    ]);

    for (const body of [{}, { command: [] }, { command: 'ip link' }, { command: ['ip', 3] }]) {
      const bad = await h.request('POST', exec, body);
      assert.equal(bad.status, 422, JSON.stringify(body));
      assert.equal(bad.json.details.causes?.[0]?.field, 'command');
    }
    assert.equal(
      (await h.request('POST', exec.replace('/web/', '/ghost/'), { command: ['true'] })).status,
      404,
    );
  });

  it('a VMI that is not running, or whose agent is not connected, is a Conflict saying so', async () => {
    runtime = createSimRuntime({ bootMs: 60_000 });
    h = await startServer({ runtime });
    await h.store.create({
      ...vmi('Pending'),
      metadata: { name: 'pending', namespace: 'default' },
    });
    const pending = await h.request(
      'POST',
      '/apis/subresources.harrow.io/v1/namespaces/default/virtualmachineinstances/pending/guest-exec',
      { command: ['true'] },
    );
    assert.equal(pending.status, 409);
    assert.match(pending.json.message, /not running/);
    const booting = await h.store.create({
      ...vmi('Running'),
      metadata: { name: 'booting', namespace: 'default' },
    });
    await runtime.ensureNetwork(net);
    await runtime.setupPod({
      podUid: 'p',
      namespace: 'default',
      podName: 'virt-launcher-booting-x',
      interfaces: [],
    });
    await runtime.startGuest({
      vmiUid: booting.metadata.uid!,
      podUid: 'p',
      namespace: 'default',
      name: 'booting',
      cpus: 1,
      memoryMiB: 64,
      nics: [],
    });
    const noAgent = await h.request(
      'GET',
      '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/booting/interfacelist',
    );
    assert.equal(noAgent.status, 409);
    assert.match(noAgent.json.message, /(guest agent|no running guest)/);
  });

  it('without a runtime the guest subresources answer 503', async () => {
    h = await startServer();
    await h.store.create({ ...vmi('Running'), metadata: { name: 'web', namespace: 'default' } });
    const r = await h.request(
      'GET',
      `${VMIS.replace('/kubevirt.io/', '/subresources.kubevirt.io/')}/web/interfacelist`,
    );
    assert.equal(r.status, 503);
  });
});
