// `kubectl apply --server-side` against Harrow: create, idempotent re-apply, a conflict between two field managers,
// --force-conflicts, and MAC admission on a MAC set through apply.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  kubectlMissing,
  kubevirtVm,
  lanNetwork,
  startKubectlServer,
  type KubectlServer,
} from './kubectl-harness.ts';

const NETWORK = lanNetwork('198.18.62.0/24');

interface ManagedEntry {
  manager: string;
  operation: string;
  fieldsV1: Record<string, Record<string, unknown>>;
}

describe(
  'kubectl apply --server-side',
  { skip: kubectlMissing() ?? false, concurrency: false },
  () => {
    let server: KubectlServer | undefined;
    before(async () => {
      server = await startKubectlServer();
      await server.ok(['apply', '--server-side', '-f', '-'], NETWORK);
    });
    after(() => server?.stop());

    const managedFields = async (name: string): Promise<ManagedEntry[]> => {
      const out = await server!.ok(['get', 'vm', name, '-o', 'json', '--show-managed-fields']);
      return (JSON.parse(out) as { metadata: { managedFields: ManagedEntry[] } }).metadata
        .managedFields;
    };

    test('creates, re-applies without a change, and records the Apply manager', async () => {
      const s = server!;
      const created = await s.ok(
        ['apply', '--server-side', '-f', '-'],
        kubevirtVm('ssa1', undefined, 'Halted'),
      );
      assert.match(created, /virtualmachine.kubevirt.io\/ssa1 serverside-applied/);
      const rv = (
        await s.ok(['get', 'vm', 'ssa1', '-o', 'jsonpath={.metadata.resourceVersion}'])
      ).trim();
      const again = await s.ok(
        ['apply', '--server-side', '-f', '-'],
        kubevirtVm('ssa1', undefined, 'Halted'),
      );
      assert.match(again, /ssa1 serverside-applied/);
      assert.equal(
        (await s.ok(['get', 'vm', 'ssa1', '-o', 'jsonpath={.metadata.resourceVersion}'])).trim(),
        rv,
        'an identical apply writes nothing',
      );
      const entries = await managedFields('ssa1');
      const kubectl = entries.find((e) => e.manager === 'kubectl' && e.operation === 'Apply');
      assert.ok(kubectl, JSON.stringify(entries));
      assert.deepEqual(kubectl.fieldsV1['f:spec']!['f:runStrategy'], {});
      // The field Harrow does not act on is kept and owned as well.
      const template = kubectl.fieldsV1['f:spec']!['f:template'] as Record<
        string,
        Record<string, Record<string, unknown>>
      >;
      assert.ok(template['f:spec']!['f:domain']!['f:ioThreadsPolicy']);
    });

    test('a second field manager changing an owned field is refused; --force-conflicts takes it over', async () => {
      const s = server!;
      const refused = await s.kubectl(
        ['apply', '--server-side', '--field-manager', 'ops', '-f', '-'],
        { stdin: kubevirtVm('ssa1', undefined, 'Always') },
      );
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.runStrategy/,
      );
      assert.match(refused.stderr, /--force-conflicts/, 'kubectl explains the way out');
      assert.equal(
        (await s.ok(['get', 'vm', 'ssa1', '-o', 'jsonpath={.spec.runStrategy}'])).trim(),
        'Halted',
      );
      await s.ok(
        ['apply', '--server-side', '--field-manager', 'ops', '--force-conflicts', '-f', '-'],
        kubevirtVm('ssa1', undefined, 'Always'),
      );
      assert.equal(
        (await s.ok(['get', 'vm', 'ssa1', '-o', 'jsonpath={.spec.runStrategy}'])).trim(),
        'Always',
      );
      const entries = await managedFields('ssa1');
      const ops = entries.find((e) => e.manager === 'ops');
      const first = entries.find((e) => e.manager === 'kubectl');
      assert.deepEqual(ops?.fieldsV1['f:spec']?.['f:runStrategy'], {});
      assert.equal(first?.fieldsV1['f:spec']?.['f:runStrategy'], undefined);
    });

    test('a MAC set through apply goes through MAC admission: a held MAC is 409 naming its holder', async () => {
      const s = server!;
      const mac = '02:aa:bb:cc:dd:01';
      await s.ok(['apply', '--server-side', '-f', '-'], kubevirtVm('ssa-holder', mac, 'Halted'));
      assert.equal(
        (
          await s.ok([
            'get',
            'vm',
            'ssa-holder',
            '-o',
            'jsonpath={.spec.template.spec.domain.devices.interfaces[0].macAddress}',
          ])
        ).trim(),
        mac,
      );
      const taken = await s.kubectl(['apply', '--server-side', '-f', '-'], {
        stdin: kubevirtVm('ssa-taker', mac, 'Halted'),
      });
      assert.notEqual(taken.code, 0);
      assert.match(taken.stderr, new RegExp(`${mac}.*ssa-holder|ssa-holder.*${mac}`));
      const absent = await s.kubectl(['get', 'vm', 'ssa-taker']);
      assert.notEqual(absent.code, 0, 'the refused apply created nothing');
      // An apply that changes an existing VM's MAC to a held one is refused the same way.
      await s.ok(
        ['apply', '--server-side', '-f', '-'],
        kubevirtVm('ssa-taker', undefined, 'Halted'),
      );
      const changed = await s.kubectl(['apply', '--server-side', '-f', '-'], {
        stdin: kubevirtVm('ssa-taker', mac, 'Halted'),
      });
      assert.notEqual(changed.code, 0);
      assert.match(changed.stderr, /ssa-holder/);
    });
  },
);
