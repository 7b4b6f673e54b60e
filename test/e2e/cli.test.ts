// The harrow command against a real server (bin/harrow serve, sim runtime): the seed's MAC story from the command line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VirtualMachineInstance } from '../../src/resources/types.ts';
import { vmYaml } from './fixtures.ts';
import {
  HARROW_BIN,
  REPO_ROOT,
  runCli,
  startServer,
  waitFor,
  type HarrowServer,
} from './harness.ts';

const skip = existsSync(join(REPO_ROOT, 'src', 'server', 'harrow.ts'))
  ? false
  : 'src/server/harrow.ts (the composition root that `harrow serve` starts) does not exist yet';

const MAC_A = '02:aa:00:00:00:01';
const MAC_NEW = '02:aa:00:00:00:42';
const GUEST_MAC = '02:aa:00:00:00:99';
const FIELD = 'spec.template.spec.domain.devices.interfaces[0].macAddress';

// sim by default; HARROW_E2E_RUNTIME=qemu runs the same story on real guests (root, QEMU and the guest image needed).
const runtime = process.env.HARROW_E2E_RUNTIME === 'qemu' ? 'qemu' : 'sim';

describe(`harrow CLI against a running server (${runtime})`, { skip }, () => {
  let server: HarrowServer;
  const ok = async (args: string[], stdin?: string): Promise<string> => {
    const r = await server.cli(args, stdin !== undefined ? { stdin } : {});
    assert.equal(
      r.code,
      0,
      `harrow ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n--- server ---\n${server.logs().slice(-3000)}`,
    );
    return r.stdout;
  };

  before(async () => {
    server = await startServer({ runtime });
  });
  after(async () => {
    await server?.stop();
  });

  test('an empty namespace: get vm says there is nothing', async () => {
    const r = await server.cli(['get', 'vm']);
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [0, '', 'No resources found in default namespace.\n'],
    );
  });

  test('create -f - creates each document; a second VM asking for a MAC in use is refused with the field and the holder', async () => {
    const r = await server.cli(['create', '-f', '-'], {
      stdin: vmYaml('vm-a', MAC_A) + '---\n' + vmYaml('vm-b', MAC_A),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, 'virtualmachine.kubevirt.io/vm-a created\n');
    assert.match(
      r.stderr,
      new RegExp(
        `^error: stdin#2 \\(VirtualMachine vm-b\\): ${FIELD.replace(/[[\].]/g, '\\$&')}: .*${MAC_A}.*default/vm-a`,
      ),
    );
  });

  test('get vm -o json prints the raw objects; the table shows the manifest MAC', async () => {
    const list = JSON.parse(await ok(['get', 'vm', '-o', 'json'])) as {
      kind: string;
      items: Array<{ metadata: { name: string } }>;
    };
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ['vm-a'],
    );
    assert.match(
      await ok(['get', 'vm']),
      new RegExp(`^vm-a\\s+\\S+\\s+Stopped\\s+False\\s+default=${MAC_A}\\s+False$`, 'm'),
    );
  });

  test('kubectl spellings: -o name prints kind.group/name; --field-selector and -l narrow the list', async () => {
    assert.equal(await ok(['get', 'vm', '-o', 'name']), 'virtualmachine.kubevirt.io/vm-a\n');
    assert.equal(
      await ok(['get', 'vm', '--field-selector', 'metadata.name=vm-a', '-o', 'name']),
      'virtualmachine.kubevirt.io/vm-a\n',
    );
    const none = await server.cli(['get', 'vm', '--field-selector=metadata.name=nope']);
    assert.deepEqual([none.code, none.stderr], [0, 'No resources found in default namespace.\n']);
    assert.equal(await ok(['get', 'vm', '-l', 'no-such-label', '-o', 'name']), '');
    const refused = await server.cli(['describe', 'vm', 'vm-a', '-o', 'name']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^error: -o name: only get prints names/);
  });

  test('start --wait returns once it runs; the platform MAC and the guest MAC agree', async () => {
    assert.equal(
      await ok(['start', 'vm-a', '--wait', '--timeout', '60s']),
      'virtualmachine.kubevirt.io/vm-a starting\nvirtualmachine.kubevirt.io/vm-a running\n',
    );
    const vmi = await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
      namespace: 'default',
      name: 'vm-a',
    });
    assert.equal(vmi.status?.phase, 'Running');
    const row = await waitFor(
      async () => {
        // NAME AGE PHASE IP NODENAME READY, and wide: MAC (the platform's), GUEST MAC.
        const out = await ok(['get', 'vmi', 'vm-a', '-o', 'wide']);
        return (
          new RegExp(`^vm-a\\s+\\S+\\s+Running\\s+.*\\s${MAC_A}\\s+${MAC_A}$`, 'm').test(out) && out
        );
      },
      { timeoutMs: 30_000, message: 'get vmi showing the guest MAC' },
    );
    assert.ok(row);
  });

  test('an in-guest MAC change shows as drift with both remedies, and drift restore brings the platform MAC back', async () => {
    const r = await server.cli([
      'exec',
      'vm-a',
      '--',
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      GUEST_MAC,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const drift = await waitFor(
      async () => {
        const out = await ok(['drift']);
        return out.includes(GUEST_MAC) && out;
      },
      { timeoutMs: 30_000, message: 'drift listing the guest MAC' },
    );
    assert.match(drift, new RegExp(`^vm-a\\s+default\\s+${MAC_A}\\s+${GUEST_MAC}$`, 'm'));
    assert.match(drift, /harrow drift restore vm-a\s+#/);
    assert.match(drift, /harrow drift adopt vm-a default --restart\s+#/);
    const described = await ok(['describe', 'vm', 'vm-a']);
    assert.match(
      described,
      new RegExp(
        `Platform MAC:\\s+${MAC_A}\\s+\\(pod interface \\S+, from the pod's network-status\\)`,
      ),
    );
    assert.match(described, new RegExp(`Guest MAC:\\s+${GUEST_MAC}.*MISMATCH`));
    assert.match(await ok(['get', 'vm']), /^vm-a\s.*\sTrue$/m, 'the DRIFT column says True');

    const restored = await ok(['drift', 'restore', 'vm-a', '--wait', '--timeout', '60s']);
    assert.match(
      restored,
      new RegExp(`vm-a/default: restoring ${MAC_A} \\(the guest uses ${GUEST_MAC}\\)`),
    );
    assert.match(restored, /vm-a running with the platform MACs/);
    await waitFor(
      async () => (await ok(['drift'])) === 'No guest MAC drift in namespace default.\n',
      { timeoutMs: 30_000, message: 'drift gone after restore' },
    );
    const guest = await ok(['exec', 'vm-a', '--', 'cat', '/sys/class/net/eth0/address']);
    assert.equal(guest.trim(), MAC_A);
  });

  test('set-mac --restart --wait: new MAC through the manifest, restart, connectivity check, audit', async () => {
    const out = await ok([
      'set-mac',
      'vm-a',
      'default',
      MAC_NEW.toUpperCase().replaceAll(':', '-'),
      '--restart',
      '--wait',
      '--timeout',
      '90s',
    ]);
    assert.match(out, new RegExp(`interface default: macAddress ${MAC_A} → ${MAC_NEW}\\n`));
    assert.match(out, /restarting to apply the new MAC/);
    assert.match(out, new RegExp(`connectivity default: ok — .*${MAC_NEW}`));
    assert.match(
      await ok(['get', 'vmi', 'vm-a', '-o', 'wide']),
      new RegExp(`\\s${MAC_NEW}\\s+${MAC_NEW}$`, 'm'),
    );
    const audit = await ok(['get', 'audit', '--vm', 'vm-a']);
    assert.match(
      audit,
      new RegExp(
        `\\spatch\\s+VirtualMachine\\s+vm-a\\s+interfaces\\[0\\]\\.macAddress: ${MAC_A}→${MAC_NEW}\\s+Success`,
      ),
    );
    assert.match(audit, /connectivity-check\s+VirtualMachine\s+vm-a\s.*Success; connectivity ok/);
    assert.match(
      await ok(['get', 'macs']),
      new RegExp(`^\\S+\\s+${MAC_NEW}\\s+InUse\\s+default/vm-a/default\\s`, 'm'),
    );
  });

  // DESIGN §3: a universally administered MAC outside the pool is warned about, not rejected. (52:54:00:… is locally
  // administered — QEMU's prefix — so the example is a universally administered one, Xen's OUI.)
  test('an admission warning reaches stderr as `Warning:` and does not fail the command', async () => {
    const r = await server.cli(['set-mac', 'vm-a', 'default', '00:16:3e:00:00:10', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Warning: .*00:16:3e:00:00:10 is a universally administered address/m);
  });

  test('create refuses a misspelt macAddress with its path (strict, as kubectl); --validate=warn creates it with a warning and a pool MAC', async () => {
    const typo = vmYaml('vm-typo', '02:aa:00:00:00:10').replace('macAddress:', 'macAdress:');
    const path = 'spec.template.spec.domain.devices.interfaces[0].macAdress';
    const refused = await server.cli(['create', '-f', '-'], { stdin: typo });
    assert.equal(refused.code, 1);
    assert.ok(
      refused.stderr.includes(`strict decoding error: unknown field "${path}"`),
      refused.stderr,
    );
    assert.equal((await server.cli(['get', 'vm', 'vm-typo'])).code, 1, 'nothing was created');
    const warned = await server.cli(['create', '--validate', 'warn', '-f', '-'], { stdin: typo });
    assert.equal(warned.code, 0, warned.stderr);
    assert.ok(warned.stderr.includes(`Warning: unknown field "${path}"`), warned.stderr);
    assert.doesNotMatch(await ok(['get', 'vm', 'vm-typo']), /02:aa:00:00:00:10/);
    await ok(['delete', 'vm', 'vm-typo']);
  });

  test('set-mac of an invalid MAC prints the field error and exits 1; --dry-run changes nothing', async () => {
    const bad = await server.cli(['set-mac', 'vm-a', 'default', '01:00:00:00:00:01']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      new RegExp(`^error: ${FIELD.replace(/[[\].]/g, '\\$&')}: .*multicast`),
    );
    const dry = await ok(['set-mac', 'vm-a', 'default', '02:aa:00:00:00:77', '--dry-run']);
    assert.match(dry, /dry run: nothing changed/);
    assert.match(await ok(['get', 'vm', 'vm-a']), new RegExp(`default=${MAC_NEW}`));
  });

  test("exec exits with the guest's exit code and passes its stderr through", async () => {
    const argv = ['cat', '/sys/class/net/nope/address'];
    const direct = await server.client.guestExec('default', 'vm-a', argv);
    assert.notEqual(direct.exitCode, 0);
    const r = await server.cli(['exec', 'vm-a', '--', ...argv]);
    assert.equal(r.code, direct.exitCode);
    assert.equal(r.stderr, direct.stderr);
  });

  test('errors from the API: exit 1 and an `error:` line', async () => {
    const r = await server.cli(['describe', 'vm', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*"nope" not found/);
    const unauth = await server.cli(['--token', 'wrong', 'get', 'vm']);
    assert.equal(unauth.code, 1);
    assert.match(unauth.stderr, /^error: .*\(the token was not accepted/);
  });

  test('stop --wait, then delete vm', async () => {
    assert.equal(
      await ok(['stop', 'vm-a', '--wait', '--timeout', '60s']),
      'virtualmachine.kubevirt.io/vm-a stopping\nvirtualmachine.kubevirt.io/vm-a stopped\n',
    );
    assert.equal(await ok(['delete', 'vm', 'vm-a']), 'virtualmachine.kubevirt.io "vm-a" deleted\n');
    const r = await server.cli(['get', 'vm']);
    assert.equal(r.stderr, 'No resources found in default namespace.\n');
  });

  test('the harness: a killed server restarts on the same data dir, port and token', async () => {
    await ok(['create', '-f', '-'], vmYaml('vm-keep', '02:aa:00:00:00:05'));
    const { url, token } = server;
    const exit = await server.kill('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    await server.restart();
    assert.equal(server.url, url);
    assert.equal(server.token, token);
    assert.match(await ok(['get', 'vm']), /^vm-keep\s/m);
  });
});

describe('harrow CLI without a server', () => {
  test('a server that is not there: exit 1, the address named', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runCli(['--server', `http://127.0.0.1:${port}`, '--token', 't', 'get', 'vm']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `error: cannot reach http://127.0.0.1:${port}: connection refused (is \`harrow serve\` running?)\n`,
    );
  });

  test('bin/harrow works from any directory and through a symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'harrow-bin-'));
    try {
      symlinkSync(HARROW_BIN, join(dir, 'harrow'));
      const r = await new Promise<{ code: number | null; stdout: string }>((resolveRun, reject) => {
        execFile(join(dir, 'harrow'), ['--help'], { cwd: dir }, (err, stdout) =>
          err && typeof err.code !== 'number'
            ? reject(err)
            : resolveRun({ code: err ? Number(err.code) : 0, stdout }),
        );
      });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^harrow — /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
