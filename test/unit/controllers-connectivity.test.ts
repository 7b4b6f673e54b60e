// The connectivity check after a restart that changed a MAC: lease for the new MAC and gateway reachable → condition, event, audit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  causeText,
  changedMacs,
  checkDeadline,
  likelyCause,
} from '../../src/controllers/connectivity.ts';
import { GUEST_BOOT_PROBE, guestBootStateOf } from '../../src/controllers/guest-boot.ts';
import type { AuditRecord, KubeEvent, VirtualMachineInstance } from '../../src/resources/types.ts';
import {
  getVm,
  getVmi,
  nadManifest,
  patchVm,
  setRequests,
  startHarness,
  vmManifest,
  waitFor,
  waitRunning,
  type Harness,
} from './controllers-harness.ts';
import { sample } from './prometheus-text.ts';

const condition = (
  o: { status?: { conditions?: Array<{ type: string }> } } | undefined,
  type: string,
) =>
  o?.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason?: string; message?: string } | undefined;

async function restartWithNewMac(
  h: Harness,
  name: string,
  index: number,
  mac: string,
): Promise<VirtualMachineInstance> {
  const old = (await getVmi(h.store, name)) as VirtualMachineInstance;
  await patchVm(h.store, name, (vm) => {
    vm.spec.template.spec.domain.devices.interfaces![index]!.macAddress = mac;
  });
  await setRequests(h.store, name, [
    { action: 'Stop', uid: old.metadata.uid as string },
    { action: 'Start' },
  ]);
  return waitFor('new instance running', async () => {
    const v = await getVmi(h.store, name);
    return v && v.metadata.uid !== old.metadata.uid && v.status?.phase === 'Running'
      ? v
      : undefined;
  });
}

describe('changedMacs (pure)', () => {
  test('lists interfaces whose platform MAC differs from the previous instance’s', () => {
    const vmi: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: 'x',
        namespace: 'default',
        annotations: {
          'harrow.io/previous-macs': JSON.stringify({ default: '02:00:00:00:00:01' }),
        },
      },
      spec: vmManifest('x', { macs: ['02:00:00:00:00:02'] }).spec.template.spec,
    };
    assert.deepEqual(
      changedMacs(vmi, () => undefined),
      [{ interface: 'default', old: '02:00:00:00:00:01', new: '02:00:00:00:00:02' }],
    );
    assert.deepEqual(
      changedMacs(vmi, () => '02:00:00:00:00:01'),
      [],
      'the pod interface MAC is the platform MAC',
    );
  });
});

describe('likelyCause (pure): why a guest lost its network over a MAC change, most specific first', () => {
  const change = { interface: 'default', old: '02:00:00:00:00:01', new: '02:00:00:00:00:02' };
  const stale = {
    mac: '02:00:00:00:00:01',
    line: 5,
    text: 'macaddress: "02:00:00:00:00:01"',
    interface: 'eth0',
    field: 'spec.template.spec.volumes[1].cloudInitNoCloud.networkData',
  };
  const base = {
    change,
    status: { name: 'default', mac: change.new, guestMac: change.new, interfaceName: 'eth0' },
    agentConnected: true,
    waitedSeconds: 600,
    matches: [stale],
    failed: ['lease', 'address'] as const,
    rangeFull: false,
  };
  test('no agent: nothing could be asked', () => {
    assert.deepEqual(likelyCause({ ...base, agentConnected: false }), {
      reason: 'AgentNotConnected',
      waitedSeconds: 600,
    });
  });
  test("the guest's OS sets another MAC: named with the line that sets it", () => {
    const setBy = {
      path: '/etc/network/interfaces',
      line: 6,
      text: 'hwaddress ether 02:aa:00:00:00:01',
    };
    const cause = likelyCause({
      ...base,
      status: {
        ...base.status,
        guestMac: '02:aa:00:00:00:01',
        guestMacMismatch: {
          platformMac: change.new,
          guestMac: '02:aa:00:00:00:01',
          since: '2026-12-05T00:00:00Z',
          cause: 'GuestOSConfiguration',
          setBy,
          remedies: [],
        },
      },
    });
    assert.deepEqual(cause, { reason: 'GuestSetsMAC', guestMac: '02:aa:00:00:00:01', setBy });
    assert.match(causeText(cause!), /its OS sets that MAC \(\/etc\/network\/interfaces line 6/);
  });
  test('the network-config still matches the old MAC: named by field and line', () => {
    const cause = likelyCause(base);
    assert.deepEqual(cause, {
      reason: 'NetworkConfigMatchesOldMAC',
      macAddress: '02:00:00:00:00:01',
      field: stale.field,
      line: 5,
      text: stale.text,
    });
    assert.match(
      causeText(cause!),
      /still matches the old MAC 02:00:00:00:00:01 \(spec\.template\.spec\.volumes\[1\]\.cloudInitNoCloud\.networkData line 5/,
    );
  });
  test('a match on the new MAC is no cause; then a full range, else no DHCP client', () => {
    const follows = [{ ...stale, mac: change.new }];
    assert.deepEqual(likelyCause({ ...base, matches: follows, rangeFull: true }), {
      reason: 'NoAddressLeft',
    });
    assert.deepEqual(likelyCause({ ...base, matches: follows }), {
      reason: 'NoDHCPClient',
      interfaceName: 'eth0',
    });
  });
  test('only the gateway failed: none of these causes', () => {
    assert.equal(likelyCause({ ...base, matches: [], failed: ['gateway'] }), undefined);
  });
});

describe('checkDeadline (pure)', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const vmi = (conditions: Array<{ type: string; status: string; lastTransitionTime: string }>) =>
    ({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'x', creationTimestamp: at(0) },
      spec: { domain: { devices: {} } },
      status: { phase: 'Running', conditions },
    }) as unknown as VirtualMachineInstance;
  const t = (s: number) => Date.parse(at(s));

  test('while the agent has not connected, the guest has the boot window from when the VMI became ready', () => {
    const ready = { type: 'Ready', status: 'True', lastTransitionTime: at(5) };
    assert.equal(checkDeadline(vmi([ready]), 600_000, 60_000), t(5) + 600_000);
  });

  test('once the agent connects, the lease and the gateway have the network window from then, however slow the boot', () => {
    const ready = { type: 'Ready', status: 'True', lastTransitionTime: at(5) };
    const agent = { type: 'AgentConnected', status: 'True', lastTransitionTime: at(50) };
    assert.equal(checkDeadline(vmi([ready, agent]), 600_000, 60_000), t(50) + 60_000);
  });

  test('an agent that came early does not end the boot: while the guest says it boots, the boot window holds; after, the network window runs from when it finished', () => {
    const ready = { type: 'Ready', status: 'True', lastTransitionTime: at(5) };
    const agent = { type: 'AgentConnected', status: 'True', lastTransitionTime: at(50) };
    assert.equal(checkDeadline(vmi([ready, agent]), 600_000, 60_000, 'booting'), t(5) + 600_000);
    assert.equal(checkDeadline(vmi([ready, agent]), 600_000, 60_000, t(400)), t(400) + 60_000);
    assert.equal(
      checkDeadline(vmi([ready, agent]), 600_000, 60_000, t(20)),
      t(50) + 60_000,
      'a boot that finished before the agent came: from the agent',
    );
  });
});

describe('guestBootStateOf (pure): systemd says whether the boot finished', () => {
  test('FinishTimestampMonotonic 0: still booting', () => {
    assert.deepEqual(guestBootStateOf('0\n123.45 200.10\n'), { booting: true });
  });
  test('finished: how long ago, from the uptime', () => {
    assert.deepEqual(guestBootStateOf('100500000\n130.50 200.10\n'), {
      booting: false,
      finishedSecondsAgo: 30,
    });
  });
  test('no systemd (busybox: only the uptime), or nothing: cannot tell', () => {
    assert.equal(guestBootStateOf('12.34 20.00\n'), undefined);
    assert.equal(guestBootStateOf(''), undefined);
    assert.equal(guestBootStateOf('sh: systemctl: not found\n'), undefined);
  });
});

describe('connectivity check on the sim runtime', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ connectivityTimeoutMs: 800 });
    await h.store.create(
      nadManifest('tiny', {
        ipam: { subnet: '198.18.20.0/24', rangeStart: '198.18.20.10', rangeEnd: '198.18.20.10' },
      }),
    );
  });
  after(async () => h.close());
  const checks = async (outcome: string): Promise<number | undefined> =>
    sample(await h.controllers.metrics.metrics(), 'harrow_connectivity_checks_total', { outcome });

  test('after a MAC-changing restart: lease for the new MAC and gateway reachable → ConnectivityCheck True, event, audit record', async () => {
    await h.store.create(vmManifest('mover', { macs: ['02:00:00:00:50:01'] }));
    await waitRunning(h, 'mover');
    await restartWithNewMac(h, 'mover', 0, '02:00:00:00:50:02');
    const c = await waitFor('ConnectivityCheck', async () =>
      condition(await getVm(h.store, 'mover'), 'ConnectivityCheck'),
    );
    assert.equal(c.status, 'True', c.message);
    assert.match(c.message ?? '', /02:00:00:00:50:01 → 02:00:00:00:50:02/);
    const audit = (await h.store.list('AuditRecord', { namespace: 'default' })).items.find(
      (a) =>
        (a as AuditRecord).spec.verb === 'connectivity-check' &&
        (a as AuditRecord).spec.resource.name === 'mover',
    ) as AuditRecord;
    assert.equal(audit.spec.user, 'system:harrow:controller');
    assert.deepEqual(audit.spec.changes, [
      {
        field: 'interfaces[default].macAddress',
        old: '02:00:00:00:50:01',
        new: '02:00:00:00:50:02',
      },
    ]);
    assert.equal(audit.spec.connectivity?.ok, true);
    assert.equal(audit.spec.connectivity?.macAddress, '02:00:00:00:50:02');
    assert.equal(audit.spec.connectivity?.lease?.macAddress, '02:00:00:00:50:02');
    assert.match(audit.spec.connectivity?.lease?.ip ?? '', /^198\.19\./);
    assert.deepEqual(audit.spec.connectivity?.gateway, { ip: '198.19.0.1', reachable: true });
    // The same results are the VM's status as data, for clients to render without reading the message.
    const vm = await getVm(h.store, 'mover');
    const check = vm?.status?.connectivityCheck;
    assert.equal(check?.passed, true);
    assert.equal(
      check?.checkedAt,
      vm?.status?.conditions?.find((x) => x.type === 'ConnectivityCheck')?.lastTransitionTime,
    );
    assert.deepEqual(
      check?.results.map((r) => [r.interface, r.previousMacAddress, r.macAddress, r.ok]),
      [['default', '02:00:00:00:50:01', '02:00:00:00:50:02', true]],
    );
    assert.equal(check?.results[0]?.lease?.macAddress, '02:00:00:00:50:02');
    // One check per changed interface, counted by outcome.
    await waitFor('a passed check counted', async () => (await checks('passed')) === 1);
    assert.equal(await checks('failed'), undefined);
    // The event follows the condition.
    await waitFor('ConnectivityCheckPassed event', async () =>
      ((await h.store.list('Event', { namespace: 'default' })).items as KubeEvent[]).some(
        (e) => e.reason === 'ConnectivityCheckPassed' && e.involvedObject.name === 'mover',
      ),
    );
  });

  test('a restart without a MAC change runs no check', async () => {
    await h.store.create(vmManifest('same', { macs: ['02:00:00:00:51:01'] }));
    const first = await waitRunning(h, 'same');
    await setRequests(h.store, 'same', [
      { action: 'Stop', uid: first.metadata.uid as string },
      { action: 'Start' },
    ]);
    await waitFor('restarted', async () => {
      const v = await getVmi(h.store, 'same');
      return v && v.metadata.uid !== first.metadata.uid ? v : undefined;
    });
    await waitRunning(h, 'same');
    await h.controllers.waitForIdle();
    assert.equal(condition(await getVm(h.store, 'same'), 'ConnectivityCheck'), undefined);
  });

  test('when the network has no address left for the new MAC, the check reports False naming the missing lease', async () => {
    // "squatter" takes the only address of the network first.
    await h.store.create(
      vmManifest('squatter', { macs: ['02:00:00:00:52:01', '02:00:00:00:52:02'], nads: ['tiny'] }),
    );
    await waitRunning(h, 'squatter');
    await h.store.create(
      vmManifest('late', { macs: ['02:00:00:00:53:01', '02:00:00:00:53:02'], nads: ['tiny'] }),
    );
    await waitFor(
      'late running',
      async () => (await getVmi(h.store, 'late'))?.status?.phase === 'Running',
    );
    await restartWithNewMac(h, 'late', 1, '02:00:00:00:53:03');
    const c = await waitFor(
      'ConnectivityCheck',
      async () => condition(await getVm(h.store, 'late'), 'ConnectivityCheck'),
      5_000,
    );
    assert.equal(c.status, 'False');
    assert.match(c.message ?? '', /no DHCP lease for 02:00:00:00:53:03 on default\/tiny/);
    const audit = (await h.store.list('AuditRecord', { namespace: 'default' })).items.find(
      (a) =>
        (a as AuditRecord).spec.verb === 'connectivity-check' &&
        (a as AuditRecord).spec.resource.name === 'late',
    ) as AuditRecord;
    assert.equal(audit.spec.outcome.status, 'Failure');
    assert.equal(audit.spec.connectivity?.ok, false);
    assert.equal(audit.spec.connectivity?.lease, null);
    // Which steps failed and why, as data: the guest asked, but the network's only address is taken.
    assert.deepEqual(audit.spec.connectivity?.failed, ['lease', 'address']);
    assert.deepEqual(audit.spec.connectivity?.cause, { reason: 'NoAddressLeft' });
    assert.match(
      c.message ?? '',
      /likely cause: every address of the network's DHCP range is leased/,
    );
    const check = (await getVm(h.store, 'late'))?.status?.connectivityCheck;
    assert.deepEqual(check?.results[0]?.cause, { reason: 'NoAddressLeft' });
    await waitFor('a failed check counted', async () => (await checks('failed')) === 1);
    assert.equal(await checks('passed'), 1, 'the restarts without a MAC change ran no check');
    await waitFor('ConnectivityCheckFailed event', async () =>
      ((await h.store.list('Event', { namespace: 'default' })).items as KubeEvent[]).some(
        (e) =>
          e.reason === 'ConnectivityCheckFailed' &&
          e.type === 'Warning' &&
          e.involvedObject.name === 'late',
      ),
    );
  });
});

describe('connectivity check on a guest whose agent answers before its boot is done', () => {
  let h: Harness;
  // When the guest's (simulated) systemd finishes booting, host ms; the guest's clock starts with the harness.
  let bootDoneAt = Number.POSITIVE_INFINITY;
  const bootedAt = Date.now();
  const probe = GUEST_BOOT_PROBE.join(' ');
  before(async () => {
    h = await startHarness({
      connectivityTimeoutMs: 500,
      bootProbeMs: 100,
      exec: (argv) => {
        if (argv.join(' ') !== probe) return undefined;
        const now = Date.now();
        const finishUs = now >= bootDoneAt ? Math.round((bootDoneAt - bootedAt) * 1000) : 0;
        return {
          exitCode: 0,
          stdout: `${finishUs}\n${((now - bootedAt) / 1000).toFixed(2)} 0.00\n`,
          stderr: '',
        };
      },
    });
    await h.store.create(
      nadManifest('one', {
        ipam: { subnet: '198.18.21.0/24', rangeStart: '198.18.21.10', rangeEnd: '198.18.21.10' },
      }),
    );
  });
  after(async () => h.close());

  test('the network window runs from the end of the boot, not from the agent: no failure while the guest says it boots', async () => {
    // "holder" takes the network's only address, so the moved NIC never gets a lease.
    await h.store.create(
      vmManifest('holder', { macs: ['02:00:00:00:54:01', '02:00:00:00:54:02'], nads: ['one'] }),
    );
    await waitRunning(h, 'holder');
    await h.store.create(
      vmManifest('slow', { macs: ['02:00:00:00:55:01', '02:00:00:00:55:02'], nads: ['one'] }),
    );
    await waitFor(
      'slow running',
      async () => (await getVmi(h.store, 'slow'))?.status?.phase === 'Running',
    );
    bootDoneAt = Date.now() + 3_000;
    await restartWithNewMac(h, 'slow', 1, '02:00:00:00:55:03');
    const c = await waitFor(
      'ConnectivityCheck',
      async () => condition(await getVm(h.store, 'slow'), 'ConnectivityCheck'),
      15_000,
    );
    assert.equal(c.status, 'False');
    const checkedAt = Date.parse(
      (await getVm(h.store, 'slow'))?.status?.connectivityCheck?.checkedAt ?? '',
    );
    // The agent answered within a second; the check waited for the boot's end and then its 500 ms.
    assert.ok(
      checkedAt >= bootDoneAt + 400,
      `checked ${checkedAt - bootDoneAt} ms after the boot finished`,
    );
  });
});
