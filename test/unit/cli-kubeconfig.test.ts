// Finding and reading the kubeconfig `harrow serve` writes (and kubectl reads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeconfigYaml } from '../../src/apiserver/auth.ts';
import {
  findKubeconfig,
  KubeconfigError,
  kubeconfigCandidates,
  parseKubeconfig,
} from '../../src/client/kubeconfig.ts';

test('reads server, token and namespace of the current context from what the server writes', () => {
  const c = parseKubeconfig(
    kubeconfigYaml('http://127.0.0.1:4321', 'secret-token'),
    '/x/kubeconfig',
  );
  assert.deepEqual(c, {
    path: '/x/kubeconfig',
    server: 'http://127.0.0.1:4321',
    token: 'secret-token',
    namespace: 'default',
  });
});

test('follows current-context among several, and names what is missing', () => {
  const text = JSON.stringify({
    clusters: [
      { name: 'a', cluster: { server: 'http://a:1' } },
      { name: 'b', cluster: { server: 'http://b:2' } },
    ],
    users: [{ name: 'u', user: { token: 'tb' } }],
    contexts: [
      { name: 'ca', context: { cluster: 'a' } },
      { name: 'cb', context: { cluster: 'b', user: 'u', namespace: 'prod' } },
    ],
    'current-context': 'cb',
  });
  assert.deepEqual(parseKubeconfig(text, 'k'), {
    path: 'k',
    server: 'http://b:2',
    token: 'tb',
    namespace: 'prod',
  });
  assert.throws(
    () =>
      parseKubeconfig(
        text.replace('"cb"}', '"zz"}').replace('"current-context":"cb"', '"current-context":"zz"'),
        'k',
      ),
    /no context named "zz"/,
  );
  assert.throws(() => parseKubeconfig('- just a list', 'k'), KubeconfigError);
});

test('search order: $HARROW_KUBECONFIG alone, else ./.harrow then ~/.harrow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harrow-kc-'));
  try {
    const cwd = join(dir, 'cwd');
    const home = join(dir, 'home');
    mkdirSync(join(home, '.harrow'), { recursive: true });
    mkdirSync(join(cwd, '.harrow'), { recursive: true });
    assert.deepEqual(kubeconfigCandidates({ HARROW_KUBECONFIG: 'rel/kc' }, cwd, home), [
      join(cwd, 'rel/kc'),
    ]);
    assert.throws(
      () => findKubeconfig({}, cwd, home),
      /looked in .*cwd\/\.harrow\/kubeconfig, .*home\/\.harrow\/kubeconfig/,
    );
    writeFileSync(join(home, '.harrow', 'kubeconfig'), 'x');
    assert.equal(findKubeconfig({}, cwd, home), join(home, '.harrow', 'kubeconfig'));
    writeFileSync(join(cwd, '.harrow', 'kubeconfig'), 'x');
    assert.equal(findKubeconfig({}, cwd, home), join(cwd, '.harrow', 'kubeconfig'));
    assert.throws(
      () => findKubeconfig({ HARROW_KUBECONFIG: join(dir, 'absent') }, cwd, home),
      /absent/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
