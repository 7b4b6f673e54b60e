// First-start credentials: the admin token, the kubeconfig kubectl uses, the serving certificate, and token checks.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { parse } from 'yaml';
import { bootstrapAuth, staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { ensureServingCertificate } from '../../src/apiserver/tls.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'harrow-auth-'));
  dirs.push(d);
  return d;
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

interface Kubeconfig {
  clusters: Array<{
    name: string;
    cluster: { server: string; 'certificate-authority-data'?: string };
  }>;
  users: Array<{ name: string; user: { token: string } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  'current-context': string;
}

describe('bootstrapAuth', () => {
  it('creates admin.token and kubeconfig with mode 0600, and the token authenticates as admin', async () => {
    const dir = await tempDir();
    const auth = await bootstrapAuth(dir, 'https://127.0.0.1:8443', {
      caData: '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n',
    });
    assert.ok(auth.token.length >= 32);
    assert.equal((await readFile(join(dir, 'admin.token'), 'utf8')).trim(), auth.token);
    assert.equal(await mode(join(dir, 'admin.token')), 0o600);
    assert.equal(await mode(join(dir, 'kubeconfig')), 0o600);
    const kc = parse(await readFile(join(dir, 'kubeconfig'), 'utf8')) as Kubeconfig;
    assert.equal(kc['current-context'], 'harrow');
    assert.deepEqual(kc.contexts[0], {
      name: 'harrow',
      context: { cluster: 'harrow', user: 'admin', namespace: 'default' },
    });
    assert.equal(kc.clusters[0]?.name, 'harrow');
    assert.equal(kc.clusters[0]?.cluster.server, 'https://127.0.0.1:8443');
    assert.match(
      Buffer.from(kc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(),
      /BEGIN CERTIFICATE/,
    );
    assert.deepEqual(kc.users[0], { name: 'admin', user: { token: auth.token } });
    assert.equal(auth.authenticator.authenticate(auth.token)?.name, 'admin');
    assert.equal(auth.authenticator.authenticate(auth.token + 'x'), undefined);
    assert.equal(auth.authenticator.authenticate(''), undefined);
  });

  it('reuses an existing token, and writes the kubeconfig later when the URL is known only after listen', async () => {
    const dir = await tempDir();
    const first = await bootstrapAuth(dir);
    const second = await bootstrapAuth(dir);
    assert.equal(second.token, first.token);
    await assert.rejects(stat(join(dir, 'kubeconfig')));
    const path = await second.writeKubeconfig('http://127.0.0.1:40000');
    assert.equal(path, join(dir, 'kubeconfig'));
    assert.equal(
      (parse(await readFile(path, 'utf8')) as Kubeconfig).clusters[0]?.cluster.server,
      'http://127.0.0.1:40000',
    );
  });

  it('refuses a token file that holds no usable token', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'admin.token'), '\n');
    await assert.rejects(bootstrapAuth(dir), /no usable token/);
  });
});

describe('staticTokenAuthenticator', () => {
  it('maps each token to its user and nothing else', () => {
    const a = staticTokenAuthenticator([
      { token: 'aaaa', user: { name: 'a', groups: [] } },
      { token: 'bbbb', user: { name: 'b', groups: ['ops'] } },
    ]);
    assert.equal(a.authenticate('aaaa')?.name, 'a');
    assert.deepEqual(a.authenticate('bbbb'), { name: 'b', groups: ['ops'] });
    assert.equal(a.authenticate('aaa'), undefined);
    assert.equal(a.authenticate('cccc'), undefined);
  });
});

describe('ensureServingCertificate', () => {
  it('makes a CA and a server certificate for the loopback names, and reuses them', async () => {
    const dir = await tempDir();
    const first = await ensureServingCertificate(dir);
    const cert = new X509Certificate(first.cert);
    const ca = new X509Certificate(first.caCert);
    assert.ok(cert.verify(ca.publicKey), 'the server certificate is signed by the CA');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(ca.ca, true);
    assert.equal(await mode(join(dir, 'server.key')), 0o600);
    assert.equal(await mode(join(dir, 'ca.key')), 0o600);
    const again = await ensureServingCertificate(dir);
    assert.equal(again.cert, first.cert);
    const wider = await ensureServingCertificate(dir, ['127.0.0.1', 'harrow.test']);
    assert.notEqual(wider.cert, first.cert, 'a new host needs a new certificate');
    assert.equal(wider.caCert, first.caCert, 'from the same CA');
    assert.equal(new X509Certificate(wider.cert).checkHost('harrow.test'), 'harrow.test');
  });
});
