// What the README says about stopping `harrow serve` on sim: its guests live in the process, so they all stop; on the
// next start each Running VMI is Failed, an Always VM starts again from its current manifest (a MAC change planned for a
// closed maintenance window applies then, and the plan is dropped), a Manual VM stays stopped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { VirtualMachine } from '../../src/resources/types.ts';
import {
  NS,
  bridgeNetwork,
  conditionOf,
  getVm,
  getVmi,
  guestMac,
  runningVmi,
  virtualMachine,
} from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const MAC_NEW = '02:48:52:00:61:61';

describe('stopping serve on sim stops every guest; the next start applies pending MAC changes', () => {
  let server: HarrowServer;
  const ok = async (args: string[]): Promise<string> => {
    const r = await server.cli(args);
    assert.equal(r.code, 0, `harrow ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('an Always VM restarts with the planned MAC outside its window; a Manual VM stays stopped', async () => {
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 61),
    );
    await server.client.create('VirtualMachine', { namespace: NS }, virtualMachine('always'));
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('manual', { runStrategy: 'Manual' }),
    );
    await ok(['start', 'manual']);
    const before = await waitFor(() => runningVmi(server.client, 'always'), {
      timeoutMs: 60_000,
      message: 'always running',
    });
    const manualBefore = await waitFor(() => runningVmi(server.client, 'manual'), {
      timeoutMs: 60_000,
      message: 'manual running',
    });

    // A window that is closed now: it opens twelve hours from the current hour (UTC) and lasts one hour.
    const hour = (new Date().getUTCHours() + 12) % 24;
    await ok([
      'window',
      'set',
      '--namespace-wide',
      '--schedule',
      `0 ${hour} * * *`,
      '--duration',
      '1h',
    ]);
    await ok(['set-mac', 'always', 'default', MAC_NEW]);
    await waitFor(
      async () =>
        conditionOf(await getVm(server.client, 'always'), 'RestartRequired')?.status === 'True',
      { message: 'RestartRequired' },
    );
    await ok(['restart', 'always', '--in-window']);
    const planned = await getVm(server.client, 'always');
    assert.ok(planned.metadata.annotations?.['harrow.io/restart-scheduled-at'], 'restart planned');

    await server.restart();

    const after = await waitFor(() => runningVmi(server.client, 'always', before.metadata.uid), {
      timeoutMs: 60_000,
      message: `always running again with a new VMI:\n${server.logs()}`,
    });
    assert.equal(after.spec.domain.devices.interfaces?.[0]?.macAddress, MAC_NEW);
    assert.equal(await guestMac(server.client, 'always'), MAC_NEW, 'the guest has the new MAC');
    const vm: VirtualMachine = await waitFor(
      async () => {
        const v = await getVm(server.client, 'always');
        return v.metadata.annotations?.['harrow.io/restart-scheduled-at'] === undefined && v;
      },
      { message: 'the restart plan dropped' },
    );
    assert.notEqual(conditionOf(vm, 'RestartRequired')?.status, 'True');

    // The Manual VM's VMI is Failed (its guest went with the process) and nothing started another.
    const manual = await waitFor(
      async () => {
        const v = await getVmi(server.client, 'manual');
        return v?.status?.phase === 'Failed' && v;
      },
      { message: 'manual VMI Failed' },
    );
    assert.equal(manual.metadata.uid, manualBefore.metadata.uid, 'no new VMI for a Manual VM');
  });
});
