// `harrow drift` on a running server (sim): it reads only the VMIs the observer labelled as drifted, and lists exactly
// what a read of every VM, VMI and pod lists.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { driftEntries, readDrift } from '../../src/cli/drift.ts';
import type { Pod, VirtualMachine, VirtualMachineInstance } from '../../src/resources/types.ts';
import { LABEL_GUEST_MAC_MISMATCH } from '../../src/resources/types.ts';
import { podNetworkVm } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

describe('harrow drift reads the labelled VMIs only', () => {
  let server: HarrowServer;
  const vms = [
    ['default', 'quiet-1', undefined],
    ['default', 'moved-1', '02:00:00:00:3c:01'],
    ['default', 'quiet-2', undefined],
    ['team', 'moved-2', '02:00:00:00:3c:02'],
  ] as const;

  before(async () => {
    server = await startServer();
    await server.client.create(
      'Namespace',
      {},
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team' },
      },
    );
    for (const [namespace, name] of vms)
      await server.client.create('VirtualMachine', { namespace }, podNetworkVm(name, namespace));
  });
  after(async () => {
    await server?.stop();
  });

  /** What `harrow drift` listed before the label: every VM, VMI and pod of the scope, read whole. */
  const fullRead = async (scope: { namespace?: string }) => {
    const c = server.client;
    const [allVms, vmis, pods] = await Promise.all([
      c.listAll<VirtualMachine>('VirtualMachine', scope),
      c.listAll<VirtualMachineInstance>('VirtualMachineInstance', scope),
      c.listAll<Pod>('Pod', scope),
    ]);
    return driftEntries(allVms, vmis, pods);
  };

  test('the drifted guests are labelled, and the selective read lists what the full read lists', async () => {
    for (const [namespace, name] of vms)
      await waitFor(
        async () =>
          (
            await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
              namespace,
              name,
            })
          ).status?.phase === 'Running',
        { timeoutMs: 60_000, message: `${namespace}/${name} Running` },
      );
    for (const [namespace, name, mac] of vms)
      if (mac)
        await server.client.guestExec(namespace, name, [
          'ip',
          'link',
          'set',
          'eth0',
          'address',
          mac,
        ]);
    const labelled = await waitFor(
      async () => {
        const found = await server.client.listAll<VirtualMachineInstance>(
          'VirtualMachineInstance',
          {
            labelSelector: `${LABEL_GUEST_MAC_MISMATCH}=true`,
          },
        );
        return found.length === 2 && found;
      },
      { timeoutMs: 60_000, message: 'both drifted VMIs labelled' },
    );
    assert.deepEqual(
      labelled.map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
      ['default/moved-1', 'team/moved-2'],
    );
    // The condition and the label come in one write: the full read sees no more drift than the label does.
    const everywhere = await readDrift(server.client, {});
    assert.deepEqual(
      everywhere.map((e) => `${e.namespace}/${e.vm}/${e.interface} ${e.guestMac}`),
      ['default/moved-1/default 02:00:00:00:3c:01', 'team/moved-2/default 02:00:00:00:3c:02'],
    );
    assert.deepEqual(everywhere, await fullRead({}));
    assert.deepEqual(
      await readDrift(server.client, { namespace: 'team' }),
      await fullRead({ namespace: 'team' }),
    );

    const cli = await server.cli(['drift', '-A']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^default\s+moved-1\s+default\s+\S+\s+02:00:00:00:3c:01$/m);
    assert.match(cli.stdout, /^team\s+moved-2\s+default\s+\S+\s+02:00:00:00:3c:02$/m);
    assert.match(cli.stdout, /harrow drift restore moved-2 -n team\s+#/);
  });
});
