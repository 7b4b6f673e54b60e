// AuditRecords through the API: node agents' controllers append them (admin only, shape checked, no one else's name);
// a record is never itself audited, nor is a Node's status (agents' heartbeats).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { auditRecordAdmission } from '../../src/apiserver/admission/auditrecord.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { auditRecords, startServer, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const URL = '/apis/harrow.io/v1/namespaces/default/auditrecords';
const record = (user: string) =>
  auditRecord({
    user,
    verb: 'connectivity-check',
    resource: { kind: 'VirtualMachine', namespace: 'default', name: 'vm-a' },
    outcome: { code: 200 },
  });

describe('AuditRecord create through the API', () => {
  it('appends a controller record, chained by the store, and does not audit the append itself', async () => {
    h = await startServer({ admission: [auditRecordAdmission()] });
    const before = (await auditRecords(h.store)).length;
    const r = await h.request('POST', URL, record('system:harrow-controller'));
    assert.equal(r.status, 201, r.body);
    const spec = r.json.spec as Record<string, unknown>;
    assert.equal(spec.verb, 'connectivity-check');
    assert.equal(typeof spec.hash, 'string', 'sealed into the hash chain by the store');
    assert.equal(
      (await auditRecords(h.store)).length,
      before + 1,
      'exactly the record sent, no record of the append',
    );
  });

  it("refuses a bad shape and another user's name, naming the field, and stores nothing", async () => {
    h = await startServer({ admission: [auditRecordAdmission()] });
    const before = (await auditRecords(h.store)).length;
    const noVerb = record('system:harrow-controller');
    (noVerb.spec as Record<string, unknown>).verb = '';
    const bad = await h.request('POST', URL, noVerb);
    assert.equal(bad.status, 422, bad.body);
    assert.equal(bad.json.details?.causes?.[0]?.field, 'spec.verb');
    const forged = await h.request('POST', URL, record('mallory'));
    assert.equal(forged.status, 422, forged.body);
    assert.equal(forged.json.details?.causes?.[0]?.field, 'spec.user');
    const records = await auditRecords(h.store);
    assert.ok(
      !records.some((x) => (x.spec as { verb?: string }).verb === 'connectivity-check'),
      'nothing refused was stored',
    );
    assert.ok(records.length >= before);
  });

  it('a Node status update (an agent heartbeat) writes no audit record; the Node create does', async () => {
    h = await startServer();
    const node = await h.request('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
    });
    assert.equal(node.status, 201, node.body);
    const after = (await auditRecords(h.store)).length;
    for (let i = 0; i < 3; i++) {
      const current = await h.request('GET', '/api/v1/nodes/n1');
      const put = await h.request('PUT', '/api/v1/nodes/n1/status', {
        ...current.json,
        status: { beat: i },
      });
      assert.equal(put.status, 200, put.body);
    }
    assert.equal((await auditRecords(h.store)).length, after, 'heartbeats are not audited');
  });
});
