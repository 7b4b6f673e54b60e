// kubectl's access reviews (auth can-i, --list), `wait --for=condition=Ready vmi/NAME` and `get -w -o wide` against Harrow.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from './harness.ts';
import {
  kubectlMissing,
  kubevirtVm,
  lanNetwork,
  startKubectlServer,
  type KubectlServer,
} from './kubectl-harness.ts';

const NETWORK = lanNetwork('198.18.61.0/24');

describe(
  'kubectl auth can-i, wait and get -w',
  { skip: kubectlMissing() ?? false, concurrency: false },
  () => {
    let server: KubectlServer | undefined;
    let viewer = '';
    before(async () => {
      server = await startKubectlServer();
      const minted = await server.harrow([
        'token',
        'create',
        '--user',
        'vera',
        '--role',
        'viewer',
        '--namespaces',
        'default',
      ]);
      assert.equal(minted.code, 0, minted.stderr);
      viewer = minted.stdout.trim();
    });
    after(() => server?.stop());

    test('auth can-i answers from the same roles the requests meet', async () => {
      const s = server!;
      assert.equal((await s.ok(['auth', 'can-i', 'create', 'virtualmachines'])).trim(), 'yes');
      // (kubectl itself warns that macpools are not namespaced when the context names a namespace.)
      assert.equal((await s.kubectl(['auth', 'can-i', 'delete', 'macpools'])).stdout.trim(), 'yes');
      const asViewer = (args: string[]): ReturnType<KubectlServer['kubectl']> =>
        s.kubectl(['--token', viewer, 'auth', 'can-i', ...args]);
      const canList = await asViewer(['list', 'vm', '-n', 'default']);
      assert.equal(canList.code, 0, canList.stderr);
      assert.equal(canList.stdout.trim(), 'yes');
      const canCreate = await asViewer(['create', 'vm', '-n', 'default']);
      assert.equal(canCreate.code, 1, `kubectl exits 1 for no: ${canCreate.stderr}`);
      assert.equal(canCreate.stdout.trim(), 'no');
      const otherNs = await asViewer(['get', 'vm', '-n', 'kube-system']);
      assert.equal(otherNs.stdout.trim(), 'no');
      // The answer matches what the request itself gets.
      const refused = await s.kubectl([
        '--token',
        viewer,
        'delete',
        'vm',
        'nothing',
        '-n',
        'default',
      ]);
      assert.match(refused.stderr, /forbidden/i);
      const subresource = await asViewer([
        'update',
        'virtualmachines.subresources.kubevirt.io',
        '--subresource',
        'start',
        '-n',
        'default',
      ]);
      assert.equal(subresource.stdout.trim(), 'no', subresource.stderr);
      assert.equal((await asViewer(['get', '/version'])).stdout.trim(), 'yes');

      const adminRules = await s.ok(['auth', 'can-i', '--list']);
      assert.match(adminRules, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/m, adminRules);
      const viewerRules = await asViewer(['--list', '-n', 'default']);
      assert.equal(viewerRules.code, 0, viewerRules.stderr);
      assert.match(
        viewerRules.stdout,
        /^virtualmachines\.kubevirt\.io\s+\[\]\s+\[\]\s+\[get list watch\]/m,
      );
      assert.match(
        viewerRules.stdout,
        /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/,
      );
      assert.doesNotMatch(viewerRules.stdout, /\[\*\]|delete/);
    });

    test('wait --for=condition=Ready vmi/NAME returns once the VMI is Ready', async () => {
      const s = server!;
      const file = join(s.dataDir, 'vm-w.yaml');
      writeFileSync(file, `${NETWORK}---\n${kubevirtVm('vm-w')}`);
      await s.ok(['create', '-f', file]);
      // The VMI appears after the VM; kubectl wait on a missing object fails at once, so wait for it to exist first.
      await waitFor(async () => (await s.kubectl(['get', 'vmi', 'vm-w'])).code === 0, {
        message: 'vmi vm-w exists',
      });
      const waited = await s.kubectl([
        'wait',
        '--for=condition=Ready',
        'vmi/vm-w',
        '--timeout=120s',
      ]);
      assert.equal(waited.code, 0, waited.stderr);
      assert.match(waited.stdout, /virtualmachineinstance\.kubevirt\.io\/vm-w condition met/);
      const ready = await s.ok([
        'get',
        'vmi',
        'vm-w',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      assert.equal(ready, 'True');
      const timedOut = await s.kubectl([
        'wait',
        '--for=condition=NoSuchCondition',
        'vmi/vm-w',
        '--timeout=2s',
      ]);
      assert.notEqual(timedOut.code, 0);
      assert.match(timedOut.stderr, /timed out/);
    });

    test('get -w -o wide prints the table, then a row per change', async () => {
      const s = server!;
      const watch = s.spawnKubectl(['get', 'vm', '-w', '-o', 'wide']);
      let out = '';
      let err = '';
      watch.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      watch.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      try {
        await waitFor(() => /^NAME\s+AGE\s+STATUS\s+READY/m.test(out) && /^vm-w\s/m.test(out), {
          message: 'the header and vm-w',
        });
        const rowsBefore = out.split('\n').filter((l) => l.startsWith('vm-x ')).length;
        assert.equal(rowsBefore, 0);
        const file = join(s.dataDir, 'vm-x.yaml');
        writeFileSync(file, kubevirtVm('vm-x', undefined, 'Halted'));
        await s.ok(['create', '-f', file]);
        await waitFor(() => /^vm-x\s+\S+\s+Stopped/m.test(out), {
          message: `a row for vm-x in the watch; so far:\n${out}\n${err}`,
        });
        const header = out.split('\n')[0]!;
        assert.match(header, /MAC/, `-o wide adds Harrow's wide columns: ${header}`);
        assert.equal(err, '', err);
      } finally {
        watch.kill('SIGKILL');
      }
    });
  },
);
