// `harrow serve` serves HTTPS by default with a CA it made, named in the kubeconfig; plain HTTP only when asked, on loopback.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { isLoopbackHost, startHarrow, type RunningHarrow } from '../../src/server/harrow.ts';
import { runCli } from './harness.ts';

describe('serve: TLS beyond loopback', () => {
  const dirs: string[] = [];
  let server: RunningHarrow | undefined;
  after(async () => {
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('knows loopback addresses from names that only look like them', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1'])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of [
      '0.0.0.0',
      '::',
      '192.0.2.10',
      '127.example.com',
      '127.0.0.1.nip.io',
      '127.300.0.1',
      '127.0.0.01',
      'example.com',
      '::ffff:8.8.8.8',
    ])
      assert.equal(isLoopbackHost(h), false, h);
  });

  it('startHarrow refuses a non-loopback address with TLS off before it opens anything', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.10:8080', '127.example.com:8080']) {
      const dataDir = join(mkdtempSync(join(tmpdir(), 'harrow-tls-')), 'data');
      dirs.push(dataDir);
      await assert.rejects(
        startHarrow({ dataDir, listen, runtime: 'sim', tls: 'off' }),
        /binding beyond loopback requires TLS: drop --tls off/,
        listen,
      );
      assert.equal(existsSync(dataDir), false, `${listen}: no data dir made`);
    }
  });

  it('harrow serve --listen 0.0.0.0:… --tls off exits with the reason (exit code 1), serving nothing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'harrow-tls-'));
    dirs.push(dataDir);
    const r = await runCli(
      ['serve', '--data-dir', dataDir, '--listen', '0.0.0.0:0', '--runtime', 'sim', '--tls', 'off'],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /requires TLS: drop --tls off/);
    assert.equal(existsSync(join(dataDir, 'server.json')), false);
  });

  it('serves HTTPS by default that the kubeconfig CA verifies, and answers no plain HTTP', async () => {
    // In this process: the harness's readiness probe would not trust the new CA (Node reads extra CAs only at start).
    const dataDir = mkdtempSync(join(tmpdir(), 'harrow-tls-'));
    dirs.push(dataDir);
    server = await startHarrow({
      dataDir,
      listen: '127.0.0.1:0',
      runtime: 'sim',
      logLevel: 'warn',
    });
    assert.match(server.url, /^https:\/\//);
    assert.ok(existsSync(join(dataDir, 'pki', 'ca.crt')), 'the CA is kept in the data dir');
    const kubeconfig = parse(readFileSync(server.kubeconfig, 'utf8')) as {
      clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    };
    const ca = Buffer.from(
      kubeconfig.clusters[0]!.cluster['certificate-authority-data'],
      'base64',
    ).toString('utf8');
    assert.match(ca, /BEGIN CERTIFICATE/);
    assert.equal(kubeconfig.clusters[0]!.cluster.server, server.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${server!.url}/apis/harrow.io/v1/macpools`,
        { ca, headers: { authorization: `Bearer ${server!.token}` } },
        (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => (body += d))
            .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject).end();
    });
    assert.equal(answer.status, 200, answer.body);
    // Without the CA the certificate is not trusted; over plain HTTP nothing is served.
    await assert.rejects(fetch(`${server.url}/healthz`));
    const plain = await fetch(`${server.url.replace('https:', 'http:')}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
    // The harrow CLI trusts the kubeconfig's CA by itself, with no NODE_EXTRA_CA_CERTS.
    const cli = await runCli(['get', 'macpools', '-o', 'json'], {
      env: { HARROW_KUBECONFIG: server.kubeconfig, NODE_EXTRA_CA_CERTS: '' },
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /"kind": "(MacPoolList|List)"/);
  });
});
