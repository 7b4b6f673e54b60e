// Debian's python3-kubernetes against `harrow serve` over TLS: CustomObjectsApi, the discovery-based DynamicClient and
// watch.Watch().stream, with the kubeconfig Harrow writes (test/e2e/clients/python_client.py does the calls).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from './harness.ts';
import { startKubectlServer, type KubectlServer } from './kubectl-harness.ts';

// Debian's interpreter, where apt installs python3-kubernetes (a pyenv or venv python on PATH would not have it).
const PYTHON = '/usr/bin/python3';

function pythonClientMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import kubernetes'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3-kubernetes is not installed (scripts/setup installs it)';
  }
}

interface PythonResult {
  createdMac: string;
  listed: string[];
  dynamicPlural: string;
  dynamicNamespaced: boolean;
  dynamicList: string[];
  patchedRunStrategy: string;
  pools: string[];
  conflict: {
    status: number;
    body: { kind: string; reason: string; details?: { causes?: Array<{ field: string }> } };
  } | null;
  events: Array<[string, string]>;
}

describe(
  'python3-kubernetes against harrow serve (TLS)',
  { skip: pythonClientMissing() ?? false },
  () => {
    let server: KubectlServer | undefined;
    before(async () => {
      server = await startKubectlServer();
    });
    after(() => server?.stop());

    test('CustomObjectsApi, DynamicClient and watch.Watch().stream', async () => {
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          PYTHON,
          [
            join(REPO_ROOT, 'test', 'e2e', 'clients', 'python_client.py'),
            server!.kubeconfig,
            'default',
          ],
          { timeout: 150_000 },
          (error, out, err) =>
            error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
        );
      });
      const r = JSON.parse(stdout) as PythonResult;
      assert.match(r.createdMac, /^02:[0-9a-f]{2}(:[0-9a-f]{2}){4}$/);
      assert.deepEqual(r.listed, ['py-a']);
      assert.equal(r.dynamicPlural, 'virtualmachines');
      assert.equal(r.dynamicNamespaced, true);
      assert.deepEqual(r.dynamicList, ['py-a']);
      assert.equal(r.patchedRunStrategy, 'Manual');
      assert.ok(r.pools.length >= 1, 'the default MacPool through the dynamic client');
      assert.equal(r.conflict?.status, 409);
      assert.equal(r.conflict?.body.reason, 'Conflict');
      assert.ok(r.conflict?.body.details?.causes?.some((c) => c.field.endsWith('macAddress')));
      const names = r.events.map(([type, name]) => `${type} ${name}`);
      assert.ok(names.includes('ADDED py-a'), names.join(', '));
      assert.ok(names.includes('MODIFIED py-a'), names.join(', '));
      assert.ok(names.includes('DELETED py-a'), names.join(', '));
    });
  },
);
