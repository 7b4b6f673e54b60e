// The observer: VMI status.interfaces the KubeVirt way, and Harrow's GuestMACMismatch when the guest changes its MAC.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MacAllocation, VirtualMachineInstance } from '../../src/resources/types.ts';
import { LABEL_GUEST_MAC_MISMATCH, macAllocationName } from '../../src/resources/types.ts';
import {
  getVm,
  getVmi,
  setRequests,
  startHarness,
  vmManifest,
  waitFor,
  waitForEvent,
  waitRunning,
  type Harness,
} from './controllers-harness.ts';

const condition = (
  o: { status?: { conditions?: Array<{ type: string }> } } | undefined,
  type: string,
) =>
  o?.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason?: string; message?: string } | undefined;

describe('observer on the sim runtime', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ pollMs: 60_000 });
  });
  after(async () => h.close());

  test('an in-guest `ip link set eth0 address` shows as GuestMACMismatch on the VMI and VM through the runtime’s event, and reverts on restart', async () => {
    await h.store.create(vmManifest('drift', { macs: ['02:00:00:00:20:01'] }));
    const vmi = await waitRunning(h, 'drift');
    const uid = vmi.metadata.uid as string;
    // The observer polls once a minute here, longer than these waits: only the runtime's guest-changed event can bring
    // the change before they time out.
    const r = await h.runtime.exec(uid, [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      '02:00:00:00:20:77',
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    const onVmi = await waitFor('VMI condition', async () =>
      condition(await getVmi(h.store, 'drift'), 'GuestMACMismatch'),
    );
    const onVm = await waitFor('VM condition', async () =>
      condition(await getVm(h.store, 'drift'), 'GuestMACMismatch'),
    );
    assert.equal(onVmi.status, 'True');
    assert.equal(onVm.message, onVmi.message);
    assert.match(
      onVmi.message ?? '',
      /guest uses MAC 02:00:00:00:20:77 but the platform assigned 02:00:00:00:20:01/,
    );
    const current = (await getVmi(h.store, 'drift')) as VirtualMachineInstance;
    // The platform MAC stays what the API shows (the seed): the spec entry keeps it.
    assert.equal(
      current.status?.interfaces?.find((i) => i.name === 'default')?.mac,
      '02:00:00:00:20:01',
    );
    assert.equal(
      current.status?.interfaces?.find((i) => i.name === 'default')?.guestMac,
      '02:00:00:00:20:77',
    );
    assert.ok(
      current.status?.interfaces?.some(
        (i) => i.infoSource === 'guest-agent' && i.mac === '02:00:00:00:20:77',
      ),
    );
    assert.match(
      await h.controllers.metrics.metrics(),
      /harrow_guest_mac_mismatch\{namespace="default",vm="drift",interface="default"\} 1/,
    );
    await waitForEvent(
      h.store,
      'GuestMACMismatch',
      (e) =>
        e.reason === 'GuestMACMismatch' &&
        e.type === 'Warning' &&
        e.involvedObject.kind === 'VirtualMachine',
    );
    await waitForEvent(
      h.store,
      'GuestMACMismatch',
      (e) => e.reason === 'GuestMACMismatch' && e.involvedObject.kind === 'VirtualMachineInstance',
    );

    await setRequests(h.store, 'drift', [{ action: 'Stop', uid }, { action: 'Start' }]);
    const next = await waitFor('restarted', async () => {
      const v = await getVmi(h.store, 'drift');
      return v && v.metadata.uid !== uid && v.status?.phase === 'Running' ? v : undefined;
    });
    await waitFor(
      'VM condition cleared',
      async () => !condition(await getVm(h.store, 'drift'), 'GuestMACMismatch'),
    );
    assert.equal(
      (await h.runtime.observe(next.metadata.uid as string))?.nics[0]?.guestMac,
      '02:00:00:00:20:01',
    );
    assert.equal(condition(await getVmi(h.store, 'drift'), 'GuestMACMismatch'), undefined);
    await waitFor('metric back to 0', async () =>
      /harrow_guest_mac_mismatch\{namespace="default",vm="drift",interface="default"\} 0/.test(
        await h.controllers.metrics.metrics(),
      ),
    );
    await waitForEvent(
      h.store,
      'GuestMACRestored',
      (e) =>
        e.reason === 'GuestMACRestored' &&
        e.involvedObject.kind === 'VirtualMachine' &&
        e.involvedObject.name === 'drift',
    );
  });

  test('when the guest takes a MAC another VM holds, the message names both VMs', async () => {
    const holder: MacAllocation = {
      apiVersion: 'harrow.io/v1',
      kind: 'MacAllocation',
      metadata: { name: macAllocationName('02:00:00:00:21:99') },
      spec: {
        macAddress: '02:00:00:00:21:99',
        pool: 'default',
        owner: {
          kind: 'VirtualMachine',
          namespace: 'default',
          name: 'other',
          interface: 'default',
        },
      },
      status: { state: 'InUse' },
    };
    await h.store.create(holder);
    await h.store.create(vmManifest('thief', { macs: ['02:00:00:00:21:01'] }));
    const vmi = await waitRunning(h, 'thief');
    await h.runtime.exec(vmi.metadata.uid as string, [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      '02:00:00:00:21:99',
    ]);
    const c = await waitFor('condition', async () =>
      condition(await getVm(h.store, 'thief'), 'GuestMACMismatch'),
    );
    assert.match(c.message ?? '', /allocated to VM default\/other/);
    assert.match(c.message ?? '', /VM default\/thief and VM default\/other/);
  });

  test('the mismatch clears when the guest sets the platform MAC back, with a GuestMACRestored event', async () => {
    await h.store.create(vmManifest('undo', { macs: ['02:00:00:00:22:01'] }));
    const vmi = await waitRunning(h, 'undo');
    const uid = vmi.metadata.uid as string;
    await h.runtime.exec(uid, ['ip', 'link', 'set', 'eth0', 'address', '02:00:00:00:22:55']);
    // Both carry the mismatch first, so that "cleared" below is a change the observer made, not a state never reached.
    await waitFor('mismatch on the VMI', async () =>
      condition(await getVmi(h.store, 'undo'), 'GuestMACMismatch'),
    );
    await waitFor('mismatch on the VM', async () =>
      condition(await getVm(h.store, 'undo'), 'GuestMACMismatch'),
    );
    assert.equal(
      (await getVmi(h.store, 'undo'))?.metadata.labels?.[LABEL_GUEST_MAC_MISMATCH],
      'true',
      'the label comes with the condition',
    );
    await h.runtime.exec(uid, ['ip', 'link', 'set', 'eth0', 'address', '02:00:00:00:22:01']);
    await waitForEvent(
      h.store,
      'GuestMACRestored',
      (e) => e.reason === 'GuestMACRestored' && e.involvedObject.uid === uid,
    );
    await waitFor(
      'cleared on the VMI',
      async () => !condition(await getVmi(h.store, 'undo'), 'GuestMACMismatch'),
    );
    assert.equal(
      (await getVmi(h.store, 'undo'))?.metadata.labels?.[LABEL_GUEST_MAC_MISMATCH],
      undefined,
      'the label goes with the condition',
    );
    await waitFor(
      'cleared on the VM',
      async () => !condition(await getVm(h.store, 'undo'), 'GuestMACMismatch'),
    );
  });
});

describe('observer on the sim runtime, polling', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ pollMs: 200 });
  });
  after(async () => h.close());

  test('a drifted VMI without the guest-mac-mismatch label (an older writer’s) gets it back at the next poll', async () => {
    await h.store.create(vmManifest('relabel', { macs: ['02:00:00:00:23:01'] }));
    const vmi = await waitRunning(h, 'relabel');
    await h.runtime.exec(vmi.metadata.uid as string, [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      '02:00:00:00:23:66',
    ]);
    const labelOf = async (): Promise<string | undefined> =>
      (await getVmi(h.store, 'relabel'))?.metadata.labels?.[LABEL_GUEST_MAC_MISMATCH];
    await waitFor('the label', async () => (await labelOf()) === 'true');
    // As a version before the label wrote it: the condition alone.
    const drifted = (await getVmi(h.store, 'relabel')) as VirtualMachineInstance;
    delete drifted.metadata.labels![LABEL_GUEST_MAC_MISMATCH];
    const written = (await h.store.update(drifted)) as VirtualMachineInstance;
    assert.equal(condition(written, 'GuestMACMismatch')?.status, 'True');
    await waitFor('the label again', async () => (await labelOf()) === 'true');
  });
});
