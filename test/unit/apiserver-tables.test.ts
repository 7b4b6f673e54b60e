// Server-side printing: the Table kubectl get asks for, with KubeVirt's columns for VMs and Kubernetes' ages.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { humanDuration, tableVersionAccepted } from '../../src/apiserver/tables.ts';
import { VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const KUBECTL_GET =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

interface TableBody {
  kind: string;
  apiVersion: string;
  columnDefinitions?: Array<{ name: string; priority: number }>;
  rows: Array<{
    cells: unknown[];
    object?: { kind: string; metadata: { name: string }; spec?: unknown };
  }>;
}

describe('tables', () => {
  it('ages read as Kubernetes prints them', () => {
    const s = 1000;
    assert.equal(humanDuration(5 * s), '5s');
    assert.equal(humanDuration(119 * s), '119s');
    assert.equal(humanDuration(200 * s), '3m20s');
    assert.equal(humanDuration(600 * s), '10m');
    assert.equal(humanDuration(3 * 3600 * s + 60 * s), '3h1m');
    assert.equal(humanDuration(30 * 3600 * s), '30h');
    assert.equal(humanDuration(3 * 86400 * s + 3600 * s), '3d1h');
    assert.equal(humanDuration(40 * 86400 * s), '40d');
    assert.equal(humanDuration(3 * 365 * 86400 * s), '3y');
    assert.equal(humanDuration(-5 * s), '<invalid>');
  });

  it('reads the Table version from Accept', () => {
    assert.equal(tableVersionAccepted(KUBECTL_GET), 'v1');
    assert.equal(tableVersionAccepted('application/json'), undefined);
  });

  it('lists VMs with KubeVirt’s columns, and gets one the same way', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('web'));
    await h.request(
      'PATCH',
      `${VMS}/web/status`,
      { status: { printableStatus: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      { 'content-type': 'application/merge-patch+json' },
    );
    const list = (await h.request('GET', VMS, undefined, { accept: KUBECTL_GET }))
      .json as unknown as TableBody;
    assert.equal(list.kind, 'Table');
    assert.equal(list.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(
      list.columnDefinitions?.map((c) => c.name),
      ['Name', 'Age', 'Status', 'Ready', 'MACs', 'Drift'],
    );
    assert.equal(list.rows.length, 1);
    const [name, ageCell, status, ready, macs, drift] = list.rows[0]!.cells;
    assert.deepEqual([name, status, ready, drift], ['web', 'Running', 'True', 'False']);
    assert.match(String(macs), /=/, 'the MAC column names each interface');
    assert.match(String(ageCell), /^\d+s$/);
    assert.equal(list.rows[0]!.object?.kind, 'PartialObjectMetadata');
    const one = (
      await h.request('GET', `${VMS}/web?includeObject=Object`, undefined, { accept: KUBECTL_GET })
    ).json as unknown as TableBody;
    assert.equal(one.rows[0]?.object?.kind, 'VirtualMachine');
    assert.ok(one.rows[0]?.object?.spec);
    const none = (
      await h.request('GET', `${VMS}?includeObject=None`, undefined, { accept: KUBECTL_GET })
    ).json as unknown as TableBody;
    assert.equal(none.rows[0]?.object, undefined);
  });

  it('a watch asked as a Table sends one-row tables, the column definitions only first', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    await h.request('POST', VMS, vmManifest('b'));
    const r = await h.request('GET', `${VMS}?watch=1&timeoutSeconds=1`, undefined, {
      accept: KUBECTL_GET,
    });
    const events = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: TableBody });
    assert.deepEqual(
      events.map((e) => [
        e.type,
        e.object.kind,
        e.object.rows[0]?.cells[0],
        e.object.columnDefinitions !== undefined,
      ]),
      [
        ['ADDED', 'Table', 'a', true],
        ['ADDED', 'Table', 'b', false],
      ],
    );
  });
});
