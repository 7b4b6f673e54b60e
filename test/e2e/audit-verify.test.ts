// harrow audit verify against a real server: the records the apiserver and controllers write form one intact chain, and a
// record changed or removed in the stopped server's store is named. Also the serve flags for the request limits.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { runCli, startServer, waitFor, type HarrowServer } from './harness.ts';

const vm = (name: string): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'default' },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } },
        networks: [{ name: 'default', pod: {} }],
      },
    },
  },
});

describe('harrow audit verify on a served data dir', () => {
  let server: HarrowServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('API writes, a refused write and controller records chain intact; an altered and a removed record are named', async () => {
    for (let i = 0; i < 4; i++) await server.client.create('VirtualMachine', {}, vm(`v${i}`));
    await server.client.mergePatch(
      'VirtualMachine',
      { namespace: 'default', name: 'v1' },
      { spec: { runStrategy: 'Halted' } },
    );
    await assert.rejects(server.client.create('VirtualMachine', {}, vm('v0')), /already exists/);
    await server.client.delete('VirtualMachine', { namespace: 'default', name: 'v3' });
    const records = await waitFor(async () => {
      const r = await server.client.listAll('AuditRecord');
      return r.length >= 7 ? r : undefined;
    });
    const api = await server.cli(['audit', 'verify']);
    assert.equal(api.code, 0, api.stdout + api.stderr);
    assert.match(api.stdout, /audit chain intact: \d+ record\(s\)/);
    const live = await runCli(['audit', 'verify', '--data-dir', server.dataDir, '-o', 'json']);
    assert.equal(live.code, 0, live.stdout);
    assert.equal((JSON.parse(live.stdout) as { ok: boolean }).ok, true);

    await server.kill('SIGTERM');
    const sorted = [...records].sort(
      (a, b) =>
        (a.spec as { sequence: number }).sequence - (b.spec as { sequence: number }).sequence,
    );
    const altered = sorted[2]!.metadata;
    const removed = sorted[4]!.metadata;
    const db = new Database(join(server.dataDir, 'harrow.db'));
    try {
      db.prepare(
        `UPDATE objects SET json = json_set(json, '$.spec.user', 'someone-else') WHERE kind = 'AuditRecord' AND namespace = ? AND name = ?`,
      ).run(altered.namespace!, altered.name);
      db.prepare(
        `DELETE FROM objects WHERE kind = 'AuditRecord' AND namespace = ? AND name = ?`,
      ).run(removed.namespace!, removed.name);
    } finally {
      db.close();
    }
    const broken = await runCli(['audit', 'verify', '--data-dir', server.dataDir]);
    assert.equal(broken.code, 1, broken.stdout);
    assert.match(
      broken.stdout,
      new RegExp(`^altered: AuditRecord ${altered.namespace}/${altered.name} `, 'm'),
    );
    assert.match(
      broken.stdout,
      new RegExp(
        `^removed: record 5 is missing before AuditRecord .* \\(sequence 6\\), after ${sorted[3]!.metadata.namespace}/${sorted[3]!.metadata.name}`,
        'm',
      ),
    );
  });

  test('serve --rate-limit: a token over its rate gets 429 TooManyRequests with Retry-After', async () => {
    const limited = await startServer({ args: ['--rate-limit', '2', '--rate-burst', '10'] });
    try {
      const url = `${limited.url}/apis/kubevirt.io/v1/namespaces/default/virtualmachines`;
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          fetch(url, { headers: { authorization: `Bearer ${limited.token}` } }),
        ),
      );
      const refused = answers.filter((r) => r.status === 429);
      assert.ok(refused.length >= 20, `expected about 30 of 40 refused, got ${refused.length}`);
      assert.ok(answers.filter((r) => r.status === 200).length >= 10);
      assert.ok(Number(refused[0]!.headers.get('retry-after')) >= 1);
      assert.equal(((await refused[0]!.json()) as { reason: string }).reason, 'TooManyRequests');
      for (const r of answers) if (!r.bodyUsed) await r.body?.cancel();
      const bad = await runCli(['serve', '--data-dir', limited.dataDir, '--rate-limit', 'fast']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--rate-limit fast: a positive number/);
    } finally {
      await limited.stop();
    }
  });
});
