// `harrow token`: what it sends the API (only the hash), what it prints (the token once), and its usage errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCliInProcess, type CliRun } from './cli-fixtures.ts';

const empty = mkdtempSync(join(tmpdir(), 'harrow-cli-token-'));
const requests: Array<{ method: string; url: string; body: string }> = [];
let api: Server;
let apiUrl = '';

const harrow = (args: string[]): Promise<CliRun> =>
  runCliInProcess(['--server', apiUrl, '--token', 't', ...args], {
    env: { HOME: empty },
    cwd: empty,
  });

before(async () => {
  api = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      const send = (code: number, v: unknown): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.method === 'POST') return send(201, JSON.parse(body));
      if (req.method === 'GET') {
        return send(200, {
          kind: 'ApiTokenList',
          apiVersion: 'harrow.io/v1',
          metadata: {},
          items: [
            {
              apiVersion: 'harrow.io/v1',
              kind: 'ApiToken',
              metadata: { name: '0123456789ab' },
              spec: {
                user: 'olga',
                role: 'operator',
                namespaces: ['a', 'b'],
                tokenHash: 'ab'.repeat(32),
              },
            },
          ],
        });
      }
      if (req.method === 'DELETE')
        return send(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      send(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 404,
        reason: 'NotFound',
        message: 'no',
      });
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => api.close(() => r())));

describe('harrow token', () => {
  it('create sends an ApiToken with the hash only and prints the token once', async () => {
    const r = await harrow([
      'token',
      'create',
      '--user',
      'olga',
      '--role',
      'operator',
      '--namespaces',
      'a,b',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^harrow_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /user olga, operator in a, b\. It is shown only now/);
    const sent = requests.at(-1)!;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.url, '/apis/harrow.io/v1/apitokens');
    assert.ok(!sent.body.includes(token.split('_')[2]!), 'the secret never leaves the CLI');
    const object = JSON.parse(sent.body) as {
      metadata: { name: string };
      spec: Record<string, unknown>;
    };
    assert.equal(object.metadata.name, token.split('_')[1]);
    assert.deepEqual(object.spec, {
      user: 'olga',
      role: 'operator',
      namespaces: ['a', 'b'],
      tokenHash: createHash('sha256').update(token).digest('hex'),
    });
  });

  it('list prints id, user, role and namespaces, never a hash; revoke deletes by id', async () => {
    const list = await harrow(['token', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^ID\s+USER\s+ROLE\s+NAMESPACES\s+AGE\n0123456789ab\s+olga\s+operator\s+a,b\s+/,
    );
    assert.ok(!list.stdout.includes('abab'));
    const revoke = await harrow(['token', 'revoke', '0123456789ab']);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.deepEqual(
      requests.at(-1)!.method + ' ' + requests.at(-1)!.url,
      'DELETE /apis/harrow.io/v1/apitokens/0123456789ab',
    );
  });

  it('refuses what cannot make a sensible token (exit 2) without calling the API', async () => {
    const before = requests.length;
    for (const [args, message] of [
      [['token', 'create', '--role', 'viewer', '--namespaces', 'a'], /--user NAME is required/],
      [
        ['token', 'create', '--user', 'v', '--role', 'root', '--namespaces', 'a'],
        /--role must be one of admin, operator, viewer/,
      ],
      [['token', 'create', '--user', 'v', '--role', 'viewer'], /a viewer token needs --namespaces/],
      [
        ['token', 'create', '--user', 'v', '--role', 'admin', '--namespaces', 'a'],
        /not limited to namespaces/,
      ],
      [
        ['token', 'create', '--user', 'v', '--role', 'viewer', '-n', 'a'],
        /a token is not in a namespace; .*--namespaces NS/,
      ],
      [['token', 'revoke'], /missing ID/],
      [['token', 'list', '--user', 'x'], /token list: unknown flag --user/],
      [['token', 'rotate'], /unknown subcommand "rotate"/],
    ] as const) {
      const r = await harrow([...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(requests.length, before);
  });
});
