// The maintenance controller with a test clock: a planned restart happens at the window's start and not before, the new
// MAC is live and checked, cancel and missed windows and stopped VMs do what an operator expects.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { scheduleRestart } from '../../src/apiserver/maintenance-actions.ts';
import { decideMaintenance } from '../../src/controllers/maintenance.ts';
import { startControllers } from '../../src/controllers/index.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type {
  AuditRecord,
  KubeEvent,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { createSimRuntime } from '../../src/runtime/sim/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import {
  afterReconcile,
  counterMacAssigner,
  getVm,
  getVmi,
  patchVm,
  setRequests,
  vmManifest,
  waitFor,
  waitRunning,
  type Harness,
} from './controllers-harness.ts';

/** Real time plus an offset: timers keep running, and a jump forward wakes the controllers' due timers. */
class TestClock {
  private offset = 0;
  private readonly listeners = new Set<() => void>();
  constructor(start: string) {
    this.offset = Date.parse(start) - Date.now();
  }
  now(): number {
    return Date.now() + this.offset;
  }
  /** Jumps to `iso`; `wake: false` moves time without telling anyone (Harrow was down). */
  set(iso: string, wake = true): void {
    this.offset += Date.parse(iso) - this.now();
    if (wake) for (const l of this.listeners) l();
  }
  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const WINDOW = JSON.stringify({
  schedule: '0 2 * * SUN',
  duration: '2h',
  timeZone: 'Europe/Berlin',
});
// Saturday noon UTC; the window opens Sunday 02:00 Berlin = 01:00Z and closes 03:00Z.
const SATURDAY = '2026-11-28T12:00:00Z';
const OPENS = '2026-11-29T01:00:00.000Z';

const condition = (
  o: { status?: { conditions?: Array<{ type: string }> } } | undefined,
  type: string,
) =>
  o?.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason?: string; message?: string } | undefined;

describe('maintenance controller (sim runtime, test clock)', () => {
  const clock = new TestClock(SATURDAY);
  let h: Harness;
  const start = async (
    store: Harness['store'],
    runtime: Harness['runtime'],
  ): Promise<Harness['controllers']> =>
    startControllers({
      store,
      runtime,
      macAssigner: counterMacAssigner(store),
      nodeName: 'node-1',
      observerPollMs: 200,
      connectivity: { timeoutMs: 3_000, retryMs: 100 },
      clock,
    });

  before(async () => {
    const store = await openSqliteStore(':memory:');
    const runtime = createSimRuntime({ bootMs: 20 });
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const controllers = await start(store, runtime);
    h = {
      store,
      runtime,
      controllers,
      async close() {
        await h.controllers.stop();
        await runtime.close();
        await store.close();
      },
    };
  });
  after(async () => h.close());

  /** A running VM with the window, its MAC changed in the manifest (RestartRequired), and a restart scheduled. */
  async function scheduledVm(
    name: string,
    oldMac: string,
    newMac: string,
  ): Promise<VirtualMachineInstance> {
    clock.set(SATURDAY);
    const vm = vmManifest(name, { macs: [oldMac] });
    vm.metadata.annotations = { 'harrow.io/maintenance-window': WINDOW };
    await h.store.create(vm);
    const vmi = await waitRunning(h, name);
    await patchVm(h.store, name, (v) => {
      v.spec.template.spec.domain.devices.interfaces![0]!.macAddress = newMac;
    });
    await waitFor(
      'RestartRequired',
      async () => condition(await getVm(h.store, name), 'RestartRequired')?.status === 'True',
    );
    await patchVm(h.store, name, (v) => {
      const next = scheduleRestart(v, vmi, undefined, clock.now());
      v.metadata.annotations = next.metadata.annotations;
      v.status = next.status;
    });
    return vmi;
  }

  const audits = async (name: string, verb: string): Promise<AuditRecord[]> =>
    ((await h.store.list('AuditRecord')).items as AuditRecord[]).filter(
      (a) => a.spec.verb === verb && a.spec.resource.name === name,
    );
  const events = async (name: string, reason: string): Promise<KubeEvent[]> =>
    ((await h.store.list('Event', { namespace: 'default' })).items as KubeEvent[]).filter(
      (e) => e.reason === reason && e.involvedObject.name === name,
    );

  test("restarts at the window's start and not before; the new MAC is live, checked and audited", async () => {
    const first = await scheduledVm('web', '02:00:00:00:60:01', '02:00:00:00:60:02');
    const planned = await getVm(h.store, 'web');
    assert.equal(planned?.metadata.annotations?.['harrow.io/restart-scheduled-at'], OPENS);
    assert.match(
      condition(planned, 'RestartScheduled')?.message ?? '',
      /restart planned for 2026-11-29T01:00:00.000Z \(2026-11-29 02:00 Europe\/Berlin\)/,
    );

    // The controller decides again at 00:59 (its wake-up is due), and declines: asserted on that decision.
    await afterReconcile(h.controllers, 'maintenance', () => clock.set('2026-11-29T00:59:00Z'));
    assert.equal(
      (await getVmi(h.store, 'web'))?.metadata.uid,
      first.metadata.uid,
      'not restarted a minute before the window',
    );
    assert.equal(condition(await getVm(h.store, 'web'), 'RestartScheduled')?.status, 'True');

    clock.set(OPENS);
    const fresh = await waitFor('a new instance', async () => {
      const v = await getVmi(h.store, 'web');
      return v && v.metadata.uid !== first.metadata.uid ? v : undefined;
    });
    await waitRunning(h, 'web');
    const guest = await h.runtime.observe(fresh.metadata.uid!);
    assert.deepEqual(
      guest?.agent?.interfaces
        .map((i) => i.mac.toLowerCase())
        .filter((m) => m.startsWith('02:00:00:00:60')),
      ['02:00:00:00:60:02'],
    );

    const check = await waitFor('ConnectivityCheck', async () =>
      condition(await getVm(h.store, 'web'), 'ConnectivityCheck'),
    );
    assert.equal(check.status, 'True', check.message);
    assert.match(check.message ?? '', /02:00:00:00:60:01 → 02:00:00:00:60:02/);
    const vm = await getVm(h.store, 'web');
    assert.equal(condition(vm, 'RestartScheduled'), undefined, 'RestartScheduled cleared');
    assert.equal(vm?.metadata.annotations?.['harrow.io/restart-scheduled-at'], undefined);
    const [restart] = await audits('web', 'scheduled-restart');
    assert.equal(restart?.spec.outcome.code, 202);
    assert.match(
      restart?.spec.outcome.message ?? '',
      /restarting in maintenance window "0 2 \* \* SUN" .* open 2026-11-29 02:00 Europe\/Berlin until 2026-11-29 04:00 Europe\/Berlin/,
    );
    assert.equal((await audits('web', 'connectivity-check'))[0]?.spec.connectivity?.ok, true);
    await waitFor(
      'events',
      async () =>
        (await events('web', 'MaintenanceRestart')).length === 1 &&
        (await events('web', 'ConnectivityCheckPassed')).length === 1,
    );
  });

  test('a cancelled restart never happens', async () => {
    const first = await scheduledVm('kept', '02:00:00:00:61:01', '02:00:00:00:61:02');
    await patchVm(h.store, 'kept', (v) => {
      delete v.metadata.annotations!['harrow.io/restart-scheduled-at'];
      v.status!.conditions = v.status!.conditions!.filter((c) => c.type !== 'RestartScheduled');
    });
    // Inside the window the controller decides again, with no plan left: asserted on that decision.
    await afterReconcile(h.controllers, 'maintenance', () => clock.set('2026-11-29T01:30:00Z'));
    assert.equal((await getVmi(h.store, 'kept'))?.metadata.uid, first.metadata.uid);
    assert.deepEqual(await audits('kept', 'scheduled-restart'), []);
    assert.equal(
      condition(await getVm(h.store, 'kept'), 'RestartRequired')?.status,
      'True',
      'the change still waits for a restart',
    );
  });

  test('Harrow down through the window: no restart outside it; re-planned to the next window and said so', async () => {
    const first = await scheduledVm('late', '02:00:00:00:62:01', '02:00:00:00:62:02');
    await h.controllers.stop();
    clock.set('2026-11-29T05:00:00Z', false);
    h.controllers = await start(h.store, h.runtime);
    const c = await waitFor('re-planned', async () => {
      const x = condition(await getVm(h.store, 'late'), 'RestartScheduled');
      return x?.reason === 'WindowMissed' ? x : undefined;
    });
    assert.equal(c.status, 'True');
    assert.match(
      c.message ?? '',
      /^missed the window 2026-11-29 02:00 Europe\/Berlin–2026-11-29 04:00 Europe\/Berlin \(Harrow was not running then\); restart planned for 2026-12-06T01:00:00.000Z/,
    );
    assert.equal(
      (await getVm(h.store, 'late'))?.metadata.annotations?.['harrow.io/restart-scheduled-at'],
      '2026-12-06T01:00:00.000Z',
    );
    assert.equal(
      (await getVmi(h.store, 'late'))?.metadata.uid,
      first.metadata.uid,
      'not restarted outside the window',
    );
    await waitFor(
      'MaintenanceWindowMissed event',
      async () => (await events('late', 'MaintenanceWindowMissed')).length === 1,
    );
    await h.controllers.waitForIdle();
    assert.match(
      condition(await getVm(h.store, 'late'), 'RestartScheduled')?.message ?? '',
      /^missed the window/,
      'the condition keeps saying why',
    );
    clock.set('2026-12-06T01:00:00Z');
    await waitFor(
      'restarted in the next window',
      async () => (await getVmi(h.store, 'late'))?.metadata.uid !== first.metadata.uid,
    );
  });

  test('a VM restarted by hand before the window: the plan is dropped (the change is applied), no second restart', async () => {
    const first = await scheduledVm('eager', '02:00:00:00:64:01', '02:00:00:00:64:02');
    await setRequests(h.store, 'eager', [
      { action: 'Stop', uid: first.metadata.uid! },
      { action: 'Start' },
    ]);
    const c = await waitFor('dropped', async () => {
      const x = condition(await getVm(h.store, 'eager'), 'RestartScheduled');
      return x?.status === 'False' ? x : undefined;
    });
    assert.equal(c.reason, 'AlreadyRestarted');
    assert.match(c.message ?? '', /the VM has restarted since it was scheduled/);
    const second = await waitRunning(h, 'eager');
    await afterReconcile(h.controllers, 'maintenance', () => clock.set('2026-11-29T01:30:00Z'));
    assert.equal(
      (await getVmi(h.store, 'eager'))?.metadata.uid,
      second.metadata.uid,
      'no restart in the window',
    );
    assert.deepEqual(
      (await audits('eager', 'scheduled-restart')).map((a) => a.spec.outcome.code),
      [409],
    );
  });

  test('a VM stopped before the window: the plan is dropped, its change applies at the next start', async () => {
    await scheduledVm('off', '02:00:00:00:63:01', '02:00:00:00:63:02');
    await patchVm(h.store, 'off', (v) => {
      v.spec.runStrategy = 'Halted';
    });
    await waitFor('stopped', async () => (await getVmi(h.store, 'off')) === undefined);
    clock.set(OPENS);
    const c = await waitFor('dropped', async () => {
      const x = condition(await getVm(h.store, 'off'), 'RestartScheduled');
      return x?.status === 'False' ? x : undefined;
    });
    assert.equal(c.reason, 'VMNotRunning');
    assert.match(
      c.message ?? '',
      /the VM is not running, so its changes apply when it next starts/,
    );
    assert.equal(
      (await getVm(h.store, 'off'))?.metadata.annotations?.['harrow.io/restart-scheduled-at'],
      undefined,
    );
    await waitFor(
      'ScheduledRestartDropped event',
      async () => (await events('off', 'ScheduledRestartDropped')).length === 1,
    );
  });
});

describe('decideMaintenance (pure)', () => {
  const vm = (annotations: Record<string, string>): VirtualMachine => ({
    ...vmManifest('x'),
    metadata: { name: 'x', namespace: 'ops', annotations },
  });
  const running = {
    metadata: { name: 'x', uid: 'u1' },
    status: { phase: 'Running' },
  } as unknown as VirtualMachineInstance;
  const nsWith = (w?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ops', ...(w ? { annotations: { 'harrow.io/maintenance-window': w } } : {}) },
  });
  const now = Date.parse(SATURDAY);

  test('waits until the plan, at most an hour at a time', () => {
    const d = decideMaintenance(
      vm({ 'harrow.io/restart-scheduled-at': OPENS }),
      running,
      nsWith(WINDOW),
      now,
    );
    assert.equal(d.kind, 'wait');
    assert.equal(d.kind === 'wait' && d.requeueAfter, 3_600_000);
    assert.match(d.kind === 'wait' ? d.message : '', /from namespace ops's annotation/);
  });

  test('follows a window that moved, and drops the plan when no window is left', () => {
    const moved = decideMaintenance(
      vm({ 'harrow.io/restart-scheduled-at': OPENS }),
      running,
      nsWith(JSON.stringify({ schedule: '0 4 * * SAT', duration: '1h' })),
      now,
    );
    assert.equal(moved.kind, 'replan');
    assert.equal(moved.kind === 'replan' && moved.at.toISOString(), '2026-12-05T04:00:00.000Z');
    assert.match(moved.kind === 'replan' ? moved.message : '', /^the maintenance window changed/);
    const gone = decideMaintenance(
      vm({ 'harrow.io/restart-scheduled-at': OPENS }),
      running,
      nsWith(),
      now,
    );
    assert.equal(gone.kind === 'drop' && gone.reason, 'NoMaintenanceWindow');
  });

  test('a RestartScheduled condition without a plan is stale; no plan and no condition is nothing to do', () => {
    const shown = vm({});
    shown.status = { conditions: [{ type: 'RestartScheduled', status: 'True' }] };
    assert.equal(decideMaintenance(shown, running, undefined, now).kind, 'stale');
    assert.equal(decideMaintenance(vm({}), running, undefined, now).kind, 'none');
  });
});
