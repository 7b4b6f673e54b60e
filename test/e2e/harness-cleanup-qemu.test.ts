// The e2e harness leaves nothing behind on the host when a test fails on real guests: a server that died mid-test
// (SIGKILL: its own teardown never ran, its guests, pod namespaces, bridges and dnsmasq outlive it) is cleaned up by
// the harness's stop(), which every test's after hook calls; a test process interrupted by a signal cleans up as it
// exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NS, runningVmOnLan } from './fixtures.ts';
import { REPO_ROOT, startServer, waitFor, type HarrowServer } from './harness.ts';
import { NOTHING, footprint } from './host-footprint.ts';
import { runtimesUnderTest } from './runtimes.ts';

const qemu = runtimesUnderTest().find((r) => r.name === 'qemu')!;

describe('the e2e harness cleans up after a failed qemu test', { skip: qemu.skip ?? false }, () => {
  let server: HarrowServer | undefined;
  after(() => server?.stop());

  it('stop() after the server was SIGKILLed mid-test: no guest, namespace, link, nftables table or data dir is left', async () => {
    server = await startServer({ runtime: 'qemu' });
    await runningVmOnLan(server.client, 'left', {
      mac: '02:c0:50:1e:00:71',
      third: 71,
      timeoutMs: qemu.timeoutMs,
    });
    const dataDir = server.dataDir;
    // What a crash (or a test killed by its timeout) leaves: the server gone, everything it made still there.
    await server.kill('SIGKILL');
    const orphaned = footprint(dataDir);
    assert.ok(
      orphaned.processes.some((p) => p.endsWith('qemu-system-x86_64')) &&
        orphaned.namespaces.length >= 2,
      `the guest and its namespaces outlive a SIGKILLed server: ${JSON.stringify(orphaned)}`,
    );
    await server.stop();
    assert.deepEqual(footprint(dataDir), NOTHING, `left behind in namespace ${NS}'s instance`);
    assert.equal(existsSync(dataDir), false, 'the data dir (overlays, seeds, disks) is gone');
  });
});

describe(
  'the e2e harness cleans up after an interrupted qemu test run',
  { skip: qemu.skip ?? false },
  () => {
    it('a test process that gets SIGTERM (Ctrl-C, the runner timing a file out) removes its guests and namespaces as it exits', async () => {
      // A test file of its own: a qemu server with a running guest, then it waits to be stopped.
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { startServer } from ${JSON.stringify(join(REPO_ROOT, 'test/e2e/harness.ts'))};
         import { runningVmOnLan } from ${JSON.stringify(join(REPO_ROOT, 'test/e2e/fixtures.ts'))};
         const server = await startServer({ runtime: 'qemu' });
         await runningVmOnLan(server.client, 'interrupted', { mac: '02:c0:50:1e:00:72', third: 72, timeoutMs: ${qemu.timeoutMs} });
         console.log('DATADIR ' + server.dataDir);
         setInterval(() => {}, 1000);`,
        ],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        const dataDir = await waitFor(() => /^DATADIR (\S+)$/m.exec(out)?.[1], {
          timeoutMs: qemu.timeoutMs + 60_000,
          message: `the child's guest running:\n${out}`,
        });
        assert.ok(
          footprint(dataDir).processes.some((p) => p.endsWith('qemu-system-x86_64')),
          'its guest runs',
        );
        child.kill('SIGTERM');
        assert.equal(await exited, 143, out);
        assert.deepEqual(footprint(dataDir), NOTHING, 'nothing of its instance is left');
        assert.equal(existsSync(dataDir), false, 'its data dir is gone');
      } finally {
        child.kill('SIGKILL');
      }
    });
  },
);
