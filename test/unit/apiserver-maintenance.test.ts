// schedule-restart / cancel-restart subresources, their discovery entries and audit, and window admission (422 naming the field).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { namespaceAdmission } from '../../src/apiserver/admission/namespace.ts';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import { MacAllocationService } from '../../src/allocation/service.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { VMS, auditRecords, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
let macs: MacAllocationService | undefined;
afterEach(async () => {
  macs?.close();
  macs = undefined;
  await h?.close();
  h = undefined;
});

const SUB = '/apis/subresources.harrow.io/v1/namespaces/default/virtualmachines';
const WINDOW = 'harrow.io/maintenance-window';
// Windows that are not open while the test runs, whatever the wall clock says (an open window plans the restart for
// now, not for its next start): a weekly one three days from today, a daily one twelve hours from now.
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const weeklyDay = (new Date().getUTCDay() + 3) % 7;
const weekly = JSON.stringify({
  schedule: `0 2 * * ${DAYS[weeklyDay]}`,
  duration: '2h',
  timeZone: 'Europe/Berlin',
});
const dailyHour = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
const daily = JSON.stringify({ schedule: `0 ${Number(dailyHour)} * * *`, duration: '1h' });

async function runningVm(
  store: Harness['store'],
  name: string,
  annotations: Record<string, string> = {},
): Promise<void> {
  await store.create({
    ...vmManifest(name, { runStrategy: 'Always' }),
    metadata: { name, namespace: 'default', annotations },
  });
  await store.create({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'default' },
    spec: { domain: { devices: {} } },
    status: { phase: 'Running' },
  });
}

const restartScheduled = (o: KubeObject) =>
  (o as VirtualMachine).status?.conditions?.find((c) => c.type === 'RestartScheduled');

describe('schedule-restart and cancel-restart', () => {
  it('are listed in discovery under subresources.harrow.io/v1', async () => {
    h = await startServer();
    const r = await h.request('GET', '/apis/subresources.harrow.io/v1');
    const names = (
      r.json as unknown as { resources: Array<{ name: string; verbs: string[] }> }
    ).resources.map((x) => x.name);
    assert.ok(names.includes('virtualmachines/schedule-restart'), names.join(','));
    assert.ok(names.includes('virtualmachines/cancel-restart'));
  });

  it('409 naming the annotation when no window applies, and when the VM is not running', async () => {
    h = await startServer();
    await runningVm(h.store, 'web');
    const r = await h.request('PUT', `${SUB}/web/schedule-restart`, {});
    assert.equal(r.status, 409);
    assert.match(
      r.json.message,
      /no maintenance window applies: neither the VM nor namespace default has the harrow.io\/maintenance-window annotation/,
    );
    await h.store.create({
      ...vmManifest('off'),
      metadata: { name: 'off', namespace: 'default', annotations: { [WINDOW]: weekly } },
    });
    const stopped = await h.request('PUT', `${SUB}/off/schedule-restart`, {});
    assert.equal(stopped.status, 409);
    assert.match(
      stopped.json.message,
      /VM is not running: a stopped VM takes its changes when it next starts/,
    );
    assert.equal((await h.request('PUT', `${SUB}/nope/schedule-restart`, {})).status, 404);
    assert.equal(
      (await h.request('PUT', `${SUB}/web/schedule-restart`, { at: 'now' })).status,
      400,
    );
  });

  it("records the plan at the window's next start (the VM's window over the namespace's), audits it, and cancel clears it", async () => {
    h = await startServer();
    const ns = (await h.store.get({ kind: 'Namespace', name: 'default' })) as KubeObject;
    await h.store.update({
      ...ns,
      metadata: {
        ...ns.metadata,
        annotations: { [WINDOW]: daily },
      },
    });
    await runningVm(h.store, 'web', { [WINDOW]: weekly });
    await runningVm(h.store, 'db');
    const before = Date.now();
    const r = await h.request('PUT', `${SUB}/web/schedule-restart`, {});
    assert.equal(r.status, 200, r.body);
    const at = Date.parse(r.json.metadata.annotations?.['harrow.io/restart-scheduled-at'] ?? '');
    assert.ok(at > before);
    assert.equal(new Date(at).getUTCDay(), weeklyDay, `a ${DAYS[weeklyDay]}`);
    const cond = restartScheduled(r.json);
    assert.equal(cond?.status, 'True');
    assert.match(
      cond?.message ?? '',
      new RegExp(
        `restart planned for .* 02:00 Europe/Berlin\\) in maintenance window "0 2 \\* \\* ${DAYS[weeklyDay]}" \\(2h, Europe/Berlin\\) from the VM's annotation`,
      ),
    );

    const db = await h.request('PUT', `${SUB}/db/schedule-restart`, {});
    assert.match(
      restartScheduled(db.json)?.message ?? '',
      new RegExp(
        `${dailyHour}:00 UTC\\) in maintenance window "0 ${Number(dailyHour)} \\* \\* \\*" \\(1h, UTC\\) from namespace default's annotation`,
      ),
    );

    const cancel = await h.request('PUT', `${SUB}/web/cancel-restart`);
    assert.equal(cancel.status, 200);
    assert.equal(cancel.json.metadata.annotations?.['harrow.io/restart-scheduled-at'], undefined);
    assert.equal(restartScheduled(cancel.json), undefined);
    const again = await h.request('PUT', `${SUB}/web/cancel-restart`, {});
    assert.equal(again.status, 409);
    assert.match(again.json.message, /no restart is scheduled/);

    const verbs = (await auditRecords(h.store)).map((a) => {
      const spec = a.spec as {
        verb: string;
        resource: { name: string };
        outcome: { code: number };
      };
      return `${spec.verb} ${spec.resource.name} ${spec.outcome.code}`;
    });
    assert.deepEqual(verbs, [
      'schedule-restart web 200',
      'schedule-restart db 200',
      'cancel-restart web 200',
      'cancel-restart web 409',
    ]);
  });

  it('plans "now" when the window is open', async () => {
    h = await startServer();
    await runningVm(h.store, 'web', {
      [WINDOW]: JSON.stringify({ schedule: '* * * * *', duration: '5m' }),
    });
    const before = Date.now();
    const r = await h.request('PUT', `${SUB}/web/schedule-restart`, {});
    const at = Date.parse(r.json.metadata.annotations?.['harrow.io/restart-scheduled-at'] ?? '');
    assert.ok(at >= before && at <= Date.now());
    assert.match(
      restartScheduled(r.json)?.message ?? '',
      /^the window is open: restart planned for/,
    );
  });
});

describe('window admission', () => {
  it('422 naming the annotation field for a bad window on a Namespace or a VM', async () => {
    h = await startServer({ admission: [namespaceAdmission()] });
    const bad = JSON.stringify({
      schedule: '0 2 * * FUNDAY',
      duration: '2h',
      timeZone: 'Europe/Berlin',
    });
    const r = await h.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'prod', annotations: { [WINDOW]: bad } },
    });
    assert.equal(r.status, 422, r.body);
    assert.equal(r.json.reason, 'Invalid');
    assert.deepEqual(
      r.json.details.causes?.map((c) => c.field),
      ['metadata.annotations[harrow.io/maintenance-window].schedule'],
    );
    assert.match(r.json.message, /day-of-week field: "FUNDAY" is not a number/);
    const ok = await h.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'prod', annotations: { [WINDOW]: weekly } },
    });
    assert.equal(ok.status, 201, ok.body);
  });

  it('VM admission rejects a bad window and a bad planned time', async () => {
    // The plugin reads namespaces and reserves MACs in a store of its own here; what matters is what it rejects.
    h = await startServer();
    macs = await MacAllocationService.open(h.store, { quarantineSeconds: 1 });
    const app = await startServer({ admission: [virtualMachineAdmission(h.store, macs)] });
    try {
      const vm = (annotations: Record<string, string>): KubeObject => ({
        ...vmManifest('web'),
        metadata: { name: 'web', annotations },
      });
      const r = await app.request(
        'POST',
        VMS,
        vm({
          [WINDOW]: JSON.stringify({
            schedule: '0 2 * * SUN',
            duration: 'forever',
            timeZone: 'Mars/Base',
          }),
        }),
      );
      assert.equal(r.status, 422, r.body);
      assert.deepEqual(r.json.details.causes?.map((c) => c.field).sort(), [
        'metadata.annotations[harrow.io/maintenance-window].duration',
        'metadata.annotations[harrow.io/maintenance-window].timeZone',
      ]);
      const t = await app.request('POST', VMS, vm({ 'harrow.io/restart-scheduled-at': 'soon' }));
      assert.equal(t.status, 422);
      assert.deepEqual(
        t.json.details.causes?.map((c) => c.field),
        ['metadata.annotations[harrow.io/restart-scheduled-at]'],
      );
    } finally {
      await app.close();
    }
  });
});
