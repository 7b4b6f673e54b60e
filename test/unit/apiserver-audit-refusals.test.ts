// Refused requests are audited where they can be: in a namespace that exists, for a valid name; otherwise in a
// cluster-level record (admins only). A flood of refusals from one user is bounded.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/resources/types.ts';
import { auditRecords, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const vmsIn = (ns: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${encodeURIComponent(ns)}/virtualmachines`;

describe('audit records of refused requests', () => {
  it('never lands in a namespace that does not exist or could not exist', async () => {
    h = await startServer();
    const attempts = [
      ['POST', vmsIn('ghost'), vmManifest('vm1')],
      ['DELETE', `${vmsIn('ghost')}/vm1`, undefined],
      ['POST', vmsIn('TP-B'), vmManifest('vm1')],
      ['DELETE', `${vmsIn('a/../b')}/vm1`, undefined],
      ['DELETE', `${vmsIn('nul\u0000ns')}/vm1`, undefined],
    ] as const;
    for (const [method, url, body] of attempts) {
      const r = await h.request(method, url, body);
      assert.ok(r.status >= 400, `${method} ${url} refused (${r.status})`);
    }
    const records = (await auditRecords(h.store)) as AuditRecord[];
    const namespaces = new Set(records.map((r) => r.metadata.namespace));
    for (const ns of ['ghost', 'TP-B', 'a/../b', 'nul\u0000ns', 'a', 'b'])
      assert.ok(!namespaces.has(ns), `no record in ${JSON.stringify(ns)}`);
    // Each attempt is still on record, at cluster level: no namespace, so only admins see it.
    assert.equal(records.length, attempts.length);
    for (const r of records) {
      assert.equal(r.spec.resource.namespace, undefined);
      assert.equal(r.spec.outcome.status, 'Failure');
    }
  });

  it('a refusal in a namespace that exists is recorded there, for a valid name', async () => {
    h = await startServer();
    const r = await h.request('DELETE', `${vmsIn('default')}/missing`);
    assert.equal(r.status, 404);
    const records = (await auditRecords(h.store)) as AuditRecord[];
    assert.equal(records.length, 1);
    assert.equal(records[0]!.metadata.namespace, 'default');
    assert.equal(records[0]!.spec.resource.namespace, 'default');
    assert.equal(records[0]!.spec.resource.name, 'missing');
  });

  it("bounds one user's refusal records: a flood of refusals is not a flood of records", async () => {
    h = await startServer({ limits: { refusalRecordsPerSecond: 1, refusalRecordBurst: 5 } });
    for (let i = 0; i < 50; i++)
      assert.equal((await h.request('DELETE', `${vmsIn('default')}/missing-${i}`)).status, 404);
    const records = await auditRecords(h.store);
    assert.ok(
      records.length >= 5 && records.length < 15,
      `${records.length} records for 50 refusals`,
    );
  });
});
