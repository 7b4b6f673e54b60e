// kubectl's --dry-run=none|client|server on harrow create, delete, set-mac and drift adopt, against a real server:
// server runs every check and stores nothing (no VM, no MAC reserved), client sends nothing, with kubectl's wording.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { macAllocationName, type MacAllocation } from '../../src/resources/types.ts';
import { vmYaml } from './fixtures.ts';
import { startServer, type HarrowServer } from './harness.ts';

const MAC = '02:aa:00:00:d7:01';

describe('harrow --dry-run=none|client|server', () => {
  let server: HarrowServer;
  before(async () => {
    server = await startServer({ runtime: 'sim' });
  });
  after(async () => {
    await server?.stop();
  });

  /** Whether the MAC is reserved for a VM now (its MacAllocation InUse; a released one is Quarantined). */
  const macHeld = async (mac: string): Promise<boolean> =>
    (await server.client.list<MacAllocation>('MacAllocation')).items.some(
      (a) => a.metadata.name === macAllocationName(mac) && a.status?.state === 'InUse',
    );

  test('create --dry-run=server: the server admits it, nothing is stored and the MAC stays free', async () => {
    const r = await server.cli(['create', '--dry-run=server', '-f', '-'], {
      stdin: vmYaml('vm-dry', MAC),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'virtualmachine.kubevirt.io/vm-dry created (server dry run)\n');
    assert.equal((await server.cli(['get', 'vm', 'vm-dry'])).code, 1, 'no VM stored');
    assert.equal(await macHeld(MAC), false, 'no MAC reserved');
  });

  test('create --dry-run=server is refused as the real create would be, naming the field', async () => {
    const r = await server.cli(['create', '--dry-run=server', '-f', '-'], {
      stdin: vmYaml('vm-bad', '01:00:5e:00:00:01'),
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /interfaces\[0\]\.macAddress: .*multicast/);
  });

  test('create --dry-run=client sends nothing and prints the object it would send', async () => {
    const r = await server.cli(['create', '--dry-run=client', '-f', '-'], {
      stdin: vmYaml('vm-client', MAC),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'virtualmachine.kubevirt.io/vm-client created (dry run)\n');
    const asJson = await server.cli(['create', '--dry-run=client', '-o', 'json', '-f', '-'], {
      stdin: vmYaml('vm-client', MAC),
    });
    const sent = JSON.parse(asJson.stdout) as { metadata: { name: string; namespace: string } };
    assert.deepEqual(sent.metadata, { name: 'vm-client', namespace: 'default' });
    assert.equal((await server.cli(['get', 'vm', 'vm-client'])).code, 1, 'nothing sent');
  });

  test('the bare --dry-run stays a server dry run; --dry-run=none creates', async () => {
    const bare = await server.cli(['create', '-f', '-', '--dry-run'], {
      stdin: vmYaml('vm-real', MAC),
    });
    assert.equal(bare.stdout, 'virtualmachine.kubevirt.io/vm-real created (server dry run)\n');
    const none = await server.cli(['create', '--dry-run=none', '-f', '-'], {
      stdin: vmYaml('vm-real', MAC),
    });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, 'virtualmachine.kubevirt.io/vm-real created\n');
    assert.equal(await macHeld(MAC), true);
  });

  test('set-mac --dry-run=server validates and reserves nothing; client is refused naming the flag', async () => {
    const r = await server.cli([
      'set-mac',
      'vm-real',
      'default',
      '02:aa:00:00:d7:02',
      '--dry-run=server',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /macAddress 02:aa:00:00:d7:01 → 02:aa:00:00:d7:02 \(server dry run: nothing changed\)/,
    );
    assert.equal(await macHeld('02:aa:00:00:d7:02'), false);
    const client = await server.cli([
      'set-mac',
      'vm-real',
      'default',
      '02:aa:00:00:d7:02',
      '--dry-run=client',
    ]);
    assert.equal(client.code, 2);
    assert.match(client.stderr, /set-mac: --dry-run=client is not supported: use --dry-run=server/);
    const bogus = await server.cli(['delete', 'vm', 'vm-real', '--dry-run=maybe']);
    assert.equal(bogus.code, 2);
    assert.match(
      bogus.stderr,
      /invalid --dry-run value "maybe": must be "none", "server", or "client"/,
    );
  });

  test('delete --dry-run=server and =client keep the VM; a missing one fails either way', async () => {
    const server_ = await server.cli(['delete', 'vm', 'vm-real', '--dry-run=server']);
    assert.equal(server_.code, 0, server_.stderr);
    assert.equal(server_.stdout, 'virtualmachine.kubevirt.io "vm-real" deleted (server dry run)\n');
    const client = await server.cli(['delete', 'vm', 'vm-real', '--dry-run=client']);
    assert.equal(client.stdout, 'virtualmachine.kubevirt.io "vm-real" deleted (dry run)\n');
    assert.equal((await server.cli(['get', 'vm', 'vm-real'])).code, 0, 'still there');
    assert.equal(await macHeld(MAC), true, 'its MAC still held');
    for (const strategy of ['server', 'client']) {
      const missing = await server.cli(['delete', 'vm', 'vm-none', `--dry-run=${strategy}`]);
      assert.equal(missing.code, 1, strategy);
      assert.match(missing.stderr, /not found/);
    }
    const real = await server.cli(['delete', 'vm', 'vm-real']);
    assert.equal(real.stdout, 'virtualmachine.kubevirt.io "vm-real" deleted\n');
  });

  test('--help names the strategies', async () => {
    const help = await server.cli(['create', '--help']);
    assert.match(help.stdout, /--dry-run \[STRATEGY\]\s+none, server .* or client/s);
  });
});
