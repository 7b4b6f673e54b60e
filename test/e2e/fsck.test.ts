// harrow fsck against a real server's data dir: clean after normal use, finds rows lost behind its back, repairs them offline.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { VirtualMachine } from '../../src/resources/types.ts';
import { runCli, startServer, waitFor, type HarrowServer } from './harness.ts';

const vm = (name: string, mac: string): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'default' },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        domain: { devices: { interfaces: [{ name: 'default', bridge: {}, macAddress: mac }] } },
        networks: [{ name: 'default', pod: {} }],
      },
    },
  },
});

interface Report {
  ok: boolean;
  problems: Array<{
    kind: string;
    message: string;
    macAddress?: string;
    object?: { name: string };
  }>;
}

describe('harrow fsck on a served data dir', () => {
  let server: HarrowServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('clean through the API and offline; a lost allocation and a lost VM are found, repaired, and stay repaired', async () => {
    for (const [name, mac] of [
      ['a', '02:fc:00:00:00:01'],
      ['b', '02:fc:00:00:00:02'],
      ['c', '02:fc:00:00:00:03'],
    ] as const) {
      await server.client.create('VirtualMachine', {}, vm(name, mac));
    }
    await waitFor(async () => (await server.client.listAll('Pod')).length === 3, {
      message: 'three launcher pods',
    });
    const api = await server.cli(['fsck', '-o', 'json']);
    assert.equal(api.code, 0, api.stdout + api.stderr);
    const live = await runCli(['fsck', '--data-dir', server.dataDir]);
    assert.equal(live.code, 0, live.stdout + live.stderr);
    assert.match(live.stderr, /is serving/);
    assert.match(
      (await runCli(['fsck', '--data-dir', server.dataDir, '--repair'])).stderr,
      /stop it before fsck --repair/,
    );

    await server.kill('SIGKILL');
    const db = new Database(join(server.dataDir, 'harrow.db'));
    try {
      db.prepare(
        "DELETE FROM objects WHERE kind = 'MacAllocation' AND name = '02-fc-00-00-00-01'",
      ).run();
      db.prepare(
        "DELETE FROM objects WHERE kind = 'VirtualMachine' AND namespace = 'default' AND name = 'b'",
      ).run();
    } finally {
      db.close();
    }
    const found = await runCli(['fsck', '--data-dir', server.dataDir, '-o', 'json']);
    assert.equal(found.code, 1, found.stderr);
    const report = JSON.parse(found.stdout) as Report;
    const seen = report.problems
      .map((p) => `${p.kind} ${p.macAddress ?? p.object?.name ?? ''}`)
      .sort();
    assert.deepEqual(seen, ['missing-allocation 02:fc:00:00:00:01', 'orphan-vmi b']);

    const repaired = await runCli(['fsck', '--data-dir', server.dataDir, '--repair']);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.match(repaired.stdout, /repaired missing-allocation/);
    // b's pod and MAC were still used by its instance; once that is gone, they are orphans too and go in the next pass
    assert.match(repaired.stdout, /repaired orphan-pod: delete Pod default\/virt-launcher-b-/);
    assert.match(
      repaired.stdout,
      /repaired orphan-allocation: release 02:fc:00:00:00:02 into quarantine/,
    );

    await server.restart();
    const allocation = await server.client.get('MacAllocation', { name: '02-fc-00-00-00-01' });
    assert.equal((allocation.spec as { owner: { name: string } }).owner.name, 'a');
    const after = await server.cli(['fsck']);
    assert.equal(after.code, 0, after.stdout + after.stderr);
  });
});
