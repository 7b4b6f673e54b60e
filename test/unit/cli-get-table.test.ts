// `harrow get` prints the server's Table for every kind: the same columns kubectl shows (priority 0), and with -o wide
// every column; audit records show their change and outcome.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { changeSummary, outcomeSummary } from '../../src/audit/summary.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { renderServerTable } from '../../src/cli/get.ts';
import { KINDS, apiVersionOf } from '../../src/resources/kinds.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { resourcePath } from '../../src/client/paths.ts';
import { TOKEN, startServer, type Harness } from './apiserver-harness.ts';
import { runCliInProcess, type CliRun } from './cli-fixtures.ts';

const KUBECTL_GET = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const empty = mkdtempSync(join(tmpdir(), 'harrow-cli-get-'));
let h: Harness;
let url: string;

/** One object of a kind, stored as is (the store takes any kind; admission is not the subject here). */
function sample(kind: (typeof KINDS)[number]): KubeObject {
  return {
    apiVersion: apiVersionOf(kind),
    kind: kind.kind,
    metadata: {
      name: `one-${kind.singular}`,
      ...(kind.namespaced ? { namespace: 'default' } : {}),
      creationTimestamp: new Date().toISOString(),
    },
    ...(kind.kind === 'NetworkAttachmentDefinition'
      ? {
          spec: {
            config: JSON.stringify({
              type: 'bridge',
              vlan: 10,
              ipam: { type: 'host-local', subnet: '198.18.3.0/24' },
            }),
          },
        }
      : {}),
  } as KubeObject;
}

const harrow = (args: string[]): Promise<CliRun> =>
  runCliInProcess(['--server', url, '--token', TOKEN, ...args], {
    env: { HOME: empty, HARROW_KUBECONFIG: join(empty, 'none') },
    cwd: empty,
  });

/** The header line's column names (columns are at least three spaces apart; names have at most one). */
const headerOf = (out: string): string[] =>
  out
    .split('\n')[0]!
    .trim()
    .split(/\s{2,}/);

before(async () => {
  h = await startServer();
  for (const kind of KINDS) {
    if (kind.kind === 'Namespace') continue; // `default` exists
    await h.store.create(sample(kind));
  }
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await h.close();
  rmSync(empty, { recursive: true, force: true });
});

describe('harrow get prints the server Table', () => {
  for (const kind of KINDS) {
    test(`${kind.plural}: the columns kubectl gets, and every column with -o wide`, async () => {
      const served = await h.request(
        'GET',
        resourcePath(kind.kind, kind.namespaced ? { namespace: 'default' } : {}),
        undefined,
        { accept: KUBECTL_GET },
      );
      assert.equal(served.status, 200, served.body);
      const columns = (
        served.json as unknown as { columnDefinitions: Array<{ name: string; priority: number }> }
      ).columnDefinitions;
      const narrow = columns.filter((c) => c.priority === 0).map((c) => c.name.toUpperCase());
      const wide = columns.map((c) => c.name.toUpperCase());

      const plain = await harrow(['get', kind.plural]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual(headerOf(plain.stdout), narrow);
      const name = kind.kind === 'Namespace' ? 'default' : `one-${kind.singular}`;
      assert.ok(
        plain.stdout.split('\n').some((l) => l.split(/\s/)[0] === name),
        `${name} in:\n${plain.stdout}`,
      );

      const widened = await harrow(['get', kind.plural, '-o', 'wide']);
      assert.equal(widened.code, 0, widened.stderr);
      assert.deepEqual(headerOf(widened.stdout), wide);

      if (kind.namespaced) {
        const all = await harrow(['get', kind.plural, '-A']);
        assert.equal(all.code, 0, all.stderr);
        assert.deepEqual(headerOf(all.stdout), ['NAMESPACE', ...narrow]);
        assert.match(
          all.stdout.split('\n')[1]!,
          new RegExp(`^default\\s+one-${kind.singular}(\\s|$)`),
        );
      }
    });
  }

  test('vmclone shows phase, source and target (what kubectl shows), not only name and age', async () => {
    const out = (await harrow(['get', 'vmclone'])).stdout;
    assert.deepEqual(headerOf(out), [
      'NAME',
      'PHASE',
      'SOURCEVIRTUALMACHINE',
      'TARGETVIRTUALMACHINE',
      'AGE',
    ]);
  });

  test('nets show the CNI type, VLAN and subnet', async () => {
    const out = (await harrow(['get', 'nets'])).stdout;
    assert.match(
      out,
      /^one-networkattachmentdefinition\s+bridge\s+10\s+198\.18\.3\.0\/24\s+\d+s$/m,
    );
  });

  test('-o wide is refused outside get, naming the flag', async () => {
    const r = await harrow(['describe', 'vm', 'x', '-o', 'wide']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: -o wide: only get prints wide tables/);
  });

  test('get --help lists every kind', async () => {
    const help = (await harrow(['get', '--help'])).stdout;
    for (const kind of KINDS) assert.ok(help.includes(kind.plural), `${kind.plural} in:\n${help}`);
    for (const word of ['vmclone', 'apitokens', 'macpools', 'nodes'])
      assert.ok(help.includes(word));
  });
});

describe('rendering a Table', () => {
  const table = {
    kind: 'Table' as const,
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions: [
      { name: 'Name', type: 'string', priority: 0 },
      { name: 'Guest MAC', type: 'string', priority: 1 },
      { name: 'Ready', type: 'string', priority: 0 },
    ],
    rows: [
      {
        cells: ['a', '02:00:00:00:00:01', null],
        object: { apiVersion: 'v1', kind: 'X', metadata: { name: 'a', namespace: 'ns1' } },
      },
    ],
  };
  test('narrow keeps priority 0, wide every column; null prints as <none>; NAMESPACE from the row object', () => {
    assert.deepEqual(renderServerTable(table, { wide: false, withNamespace: false }), {
      headers: ['NAME', 'READY'],
      rows: [['a', '<none>']],
    });
    assert.deepEqual(renderServerTable(table, { wide: true, withNamespace: true }), {
      headers: ['NAMESPACE', 'NAME', 'GUEST MAC', 'READY'],
      rows: [['ns1', 'a', '02:00:00:00:00:01', '<none>']],
    });
  });
});

test('audit summaries: the change old→new below the devices, the outcome with the connectivity verdict', () => {
  const field = 'spec.template.spec.domain.devices.interfaces[0].macAddress';
  const refused = auditRecord({
    user: 'admin',
    verb: 'patch',
    resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a' },
    changes: [{ field, old: '02:00:00:00:00:01', new: '02:00:00:00:00:42' }],
    outcome: { code: 409, message: 'MAC in use' },
  });
  assert.equal(
    changeSummary(refused.spec.changes),
    'interfaces[0].macAddress: 02:00:00:00:00:01→02:00:00:00:00:42',
  );
  assert.equal(outcomeSummary(refused.spec), 'Failure 409: MAC in use');
  const restarted = auditRecord({
    user: 'admin',
    verb: 'restart',
    resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a' },
    outcome: { code: 200 },
    connectivity: {
      ok: false,
      interface: 'default',
      macAddress: '02:00:00:00:00:42',
      lease: null,
      message: 'no DHCP lease for 02:00:00:00:00:42',
    },
  });
  assert.equal(
    outcomeSummary(restarted.spec),
    'Success; connectivity FAILED: no DHCP lease for 02:00:00:00:00:42',
  );
  assert.equal(
    changeSummary([{ field: 'spec.runStrategy', new: 'Halted' }]),
    'spec.runStrategy: ∅→Halted',
  );
});
