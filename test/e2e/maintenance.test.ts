// Maintenance windows through a real server (sim) and the harrow CLI: window set/show/clear, admission of bad windows,
// discovery, restart --in-window and --cancel, and a restart carried out in an open window with its connectivity check.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  AuditRecord,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { ApiError } from '../../src/client/errors.ts';
import { vmYaml as vmYamlOf } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const MAC_OLD = '02:ab:00:00:00:01';
const MAC_NEW = '02:ab:00:00:00:02';

const vmYaml = vmYamlOf('web', MAC_OLD, 'Always');

describe('maintenance windows (real server, sim runtime, harrow CLI)', () => {
  let server: HarrowServer;
  const cli = (args: string[], stdin?: string) =>
    server.cli(args, stdin !== undefined ? { stdin } : {});
  const ok = async (args: string[], stdin?: string): Promise<string> => {
    const r = await cli(args, stdin);
    assert.equal(
      r.code,
      0,
      `harrow ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
    return r.stdout;
  };
  const vm = (): Promise<VirtualMachine> =>
    server.client.get<VirtualMachine>('VirtualMachine', { namespace: 'default', name: 'web' });
  const scheduled = (v: VirtualMachine) =>
    v.status?.conditions?.find((c) => c.type === 'RestartScheduled');

  before(async () => {
    server = await startServer({ runtime: 'sim' });
    await ok(['create', '-f', '-'], vmYaml);
    await waitFor(
      async () =>
        (
          await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
            namespace: 'default',
            name: 'web',
          })
        ).status?.phase === 'Running',
      {
        message: 'web running',
      },
    );
  });
  after(async () => {
    await server?.stop();
  });

  test('discovery lists schedule-restart and cancel-restart', async () => {
    const r = await fetch(`${server.url}/apis/subresources.harrow.io/v1`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const names = ((await r.json()) as { resources: Array<{ name: string }> }).resources.map(
      (x) => x.name,
    );
    assert.ok(
      names.includes('virtualmachines/schedule-restart') &&
        names.includes('virtualmachines/cancel-restart'),
      names.join(', '),
    );
  });

  test('without a window, restart --in-window says how to set one (exit 1)', async () => {
    const r = await cli(['restart', 'web', '--in-window']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /no maintenance window applies: neither the VM nor namespace default has the harrow.io\/maintenance-window annotation \(set one with: harrow window set web/,
    );
  });

  test('a bad window is refused by the CLI (exit 2) and by admission (422 naming the annotation field)', async () => {
    const r = await cli([
      'window',
      'set',
      '--namespace-wide',
      '--schedule',
      '0 2 * * FUNDAY',
      '--duration',
      '2h',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--schedule: cron "0 2 \* \* FUNDAY": day-of-week field/);
    await assert.rejects(
      server.client.mergePatch(
        'Namespace',
        { name: 'default' },
        {
          metadata: {
            annotations: {
              'harrow.io/maintenance-window': '{"schedule":"0 2 * *","duration":"2h"}',
            },
          },
        },
      ),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 422 &&
        /metadata\.annotations\[harrow\.io\/maintenance-window\]\.schedule/.test(e.message),
    );
  });

  test('window set --namespace-wide, show, then a scheduled restart is recorded and cancelled', async () => {
    assert.match(
      await ok([
        'window',
        'set',
        '--namespace-wide',
        '--schedule',
        '0 2 * * SUN',
        '--duration',
        '2h',
        '--time-zone',
        'Europe/Berlin',
      ]),
      /^namespace\/default maintenance window set: "0 2 \* \* SUN" for 2h \(Europe\/Berlin\); next opens \d{4}-\d\d-\d\d 02:00 Europe\/Berlin/,
    );
    assert.match(
      await ok(['window', 'show', 'web']),
      /^web\s+Namespace\s+0 2 \* \* SUN\s+2h\s+Europe\/Berlin\s+\d{4}-\d\d-\d\d 02:00 Europe\/Berlin\s+-$/m,
    );

    await ok(['set-mac', 'web', 'default', MAC_NEW]);
    await waitFor(
      async () =>
        (await vm()).status?.conditions?.some(
          (c) => c.type === 'RestartRequired' && c.status === 'True',
        ),
      { message: 'RestartRequired' },
    );
    const out = await ok(['restart', 'web', '--in-window']);
    assert.match(
      out,
      /^virtualmachine\.kubevirt\.io\/web restart planned for \S+ \(\d{4}-\d\d-\d\d 02:00 Europe\/Berlin\) in maintenance window "0 2 \* \* SUN" \(2h, Europe\/Berlin\) from namespace default's annotation\n$/,
    );
    const planned = await vm();
    const at = planned.metadata.annotations?.['harrow.io/restart-scheduled-at'];
    assert.ok(at && Date.parse(at) > Date.now(), at);
    assert.equal(scheduled(planned)?.status, 'True');
    assert.match(
      await ok(['window', 'show']),
      new RegExp(`^web\\s+Namespace\\s.*\\s${at.replace(/[.]/g, '\\.')}$`, 'm'),
    );

    assert.equal(
      await ok(['restart', 'web', '--cancel']),
      'virtualmachine.kubevirt.io/web scheduled restart cancelled\n',
    );
    const cancelled = await vm();
    assert.equal(cancelled.metadata.annotations?.['harrow.io/restart-scheduled-at'], undefined);
    assert.equal(scheduled(cancelled), undefined);
    const again = await cli(['restart', 'web', '--cancel']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no restart is scheduled/);
  });

  test("in an open window (the VM's own wins) the restart happens now: new MAC live, connectivity checked, audited", async () => {
    const before = await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
      namespace: 'default',
      name: 'web',
    });
    // Every minute opens a 5-minute window: it is always open.
    await ok(['window', 'set', 'web', '--schedule', '* * * * *', '--duration', '5m']);
    assert.match(
      await ok(['window', 'show', 'web']),
      /^web\s+VirtualMachine\s+\* \* \* \* \*\s+5m\s+UTC\s+open until /m,
    );
    assert.match(
      await ok(['restart', 'web', '--in-window']),
      /web the window is open: restart planned for/,
    );
    const fresh = await waitFor(
      async () => {
        const v = await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
          namespace: 'default',
          name: 'web',
        });
        return v.metadata.uid !== before.metadata.uid && v.status?.phase === 'Running' && v;
      },
      { message: 'a new instance' },
    );
    assert.equal(fresh.spec.domain.devices.interfaces?.[0]?.macAddress, MAC_NEW);
    const check = await waitFor(
      async () => (await vm()).status?.conditions?.find((c) => c.type === 'ConnectivityCheck'),
      { message: 'ConnectivityCheck' },
    );
    assert.equal(check.status, 'True', check.message);
    assert.match(check.message ?? '', new RegExp(`${MAC_OLD} → ${MAC_NEW}`));
    assert.equal(scheduled(await vm()), undefined);
    const records = (await server.client.listAll<AuditRecord>('AuditRecord')).filter(
      (a) => a.spec.resource.name === 'web',
    );
    const verbs = records.map((a) => `${a.spec.verb}:${a.spec.outcome.code}`);
    for (const v of [
      'schedule-restart:200',
      'cancel-restart:200',
      'cancel-restart:409',
      'scheduled-restart:202',
      'connectivity-check:200',
    ])
      assert.ok(verbs.includes(v), `${v} in ${verbs.join(', ')}`);

    assert.match(
      await ok(['window', 'clear', 'web']),
      /maintenance window cleared \(the namespace's window, if any, applies now\)/,
    );
    assert.match(
      await ok(['window', 'clear', '--namespace-wide']),
      /^namespace\/default maintenance window cleared\n$/,
    );
    assert.match(await ok(['window', 'show', 'web']), /^web\s+none\s+-/m);
  });
});
