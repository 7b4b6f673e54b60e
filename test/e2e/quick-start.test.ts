// The README's quick start: `scripts/up` on a fresh data dir, then kubectl with the kubeconfig it wrote, no extra step.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killProcessesUsing, spawnScriptsUp, waitFor } from './harness.ts';

const kubectl = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile('kubectl', args, { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe('quick start: scripts/up serves TLS that kubectl uses as is', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'harrow-up-')), 'data');
  let pid: number | undefined;
  after(() => {
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    killProcessesUsing(dataDir);
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('kubectl --kubeconfig DATA_DIR/kubeconfig get vm -A lists the demo VM', async () => {
    const { child: up, log } = spawnScriptsUp(dataDir);
    pid = up.pid;
    const kubeconfig = join(dataDir, 'kubeconfig');
    const listed = await waitFor(
      async () => {
        if (up.exitCode !== null) throw new Error(`scripts/up exited ${up.exitCode}: ${log()}`);
        if (!existsSync(join(dataDir, 'server.json'))) return undefined;
        const r = await kubectl(['--kubeconfig', kubeconfig, 'get', 'vm', '-A']);
        return r.code === 0 && /\bdemo\s+demo\b/.test(r.stdout) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'kubectl get vm -A showing demo/demo' },
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- scripts/up output ---\n${log()}`);
    });
    assert.equal(listed.stderr, '', 'kubectl says nothing on stderr (no insecure fallback)');
    assert.match(log(), /Harrow is serving the API at https:\/\/127\.0\.0\.1:\d+/);
    assert.ok(existsSync(join(dataDir, 'pki', 'ca.crt')), 'the CA is kept in the data dir');
  });
});
