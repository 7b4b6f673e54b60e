// Per-client limits: request rate per token (429 + Retry-After), open watches per token (429), list page size (continue).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { DEFAULT_MAX_LIST_LIMIT, TokenBuckets } from '../../src/apiserver/limits.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { ALICE, TOKEN, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

const BOB_TOKEN = 'bob-token-0123456789abcdef';
const authenticator = staticTokenAuthenticator([
  { token: TOKEN, user: { ...ALICE, uid: 'token-alice' } },
  { token: BOB_TOKEN, user: { name: 'bob', groups: ['system:authenticated'], uid: 'token-bob' } },
]);
const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';

test('a token bucket allows the burst, then one request per 1/rate seconds', () => {
  let now = 0;
  const b = new TokenBuckets(2, 3, () => now);
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a')], [0, 0, 0]);
  assert.equal(b.take('a'), 0.5);
  assert.equal(b.take('b'), 0, 'another key has its own bucket');
  now += 500;
  assert.equal(b.take('a'), 0);
  assert.ok(b.take('a') > 0);
  now += 10_000;
  assert.deepEqual(
    [b.take('a'), b.take('a'), b.take('a'), b.take('a') > 0],
    [0, 0, 0, true],
    'refills up to the burst only',
  );
  assert.throws(() => new TokenBuckets(0, 1), /must be > 0/);
});

describe('request rate per token', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ authenticator, limits: { requestsPerSecond: 0.5, burst: 3 } });
  });
  after(async () => h.close());

  test('beyond the burst: 429 TooManyRequests Status with Retry-After; other tokens and /healthz unaffected; not audited', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await h.request('GET', VMS)).status, 200);
    const refused = await h.request('POST', VMS, vmManifest('flood'));
    assert.equal(refused.status, 429);
    assert.equal(refused.json.kind, 'Status');
    assert.equal(refused.json.reason, 'TooManyRequests');
    assert.match(
      refused.json.message,
      /alice is over its rate limit of 0\.5 requests per second: retry after 2s/,
    );
    assert.equal(refused.headers['retry-after'], '2');
    assert.equal((refused.json.details as { retryAfterSeconds?: number }).retryAfterSeconds, 2);
    assert.equal(
      (await h.request('GET', VMS, undefined, { authorization: `Bearer ${BOB_TOKEN}` })).status,
      200,
    );
    assert.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal(
      (await h.store.list('AuditRecord')).items.length,
      0,
      'a refused flood writes no audit records',
    );
    assert.equal(
      await h.store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'flood' }),
      undefined,
    );
  });
});

describe('open watches per token', () => {
  let h: Harness;
  let url: string;
  const controllers: AbortController[] = [];
  before(async () => {
    h = await startServer({ authenticator, limits: { watchesPerClient: 2 } });
    url = (await h.app.listen({ host: '127.0.0.1', port: 0 })) + VMS + '?watch=1';
  });
  after(async () => {
    for (const c of controllers) c.abort();
    await h.close();
  });
  const watch = async (token = TOKEN): Promise<Response> => {
    const c = new AbortController();
    controllers.push(c);
    const r = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: c.signal });
    return Object.assign(r, { abort: () => c.abort() });
  };

  test('the third watch of a token is a 429 Status; closing one makes room; another token is unaffected', async () => {
    const first = await watch();
    const second = await watch();
    assert.deepEqual([first.status, second.status], [200, 200]);
    const third = await watch();
    assert.equal(third.status, 429);
    const status = (await third.json()) as { kind: string; reason: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'TooManyRequests');
    assert.match(status.message, /alice already holds 2 open watches/);
    assert.equal((await watch(BOB_TOKEN)).status, 200);
    controllers[0]!.abort();
    const deadline = Date.now() + 5000;
    let again: Response;
    do {
      await new Promise((r) => setTimeout(r, 20));
      again = await watch();
    } while (again.status === 429 && Date.now() < deadline);
    assert.equal(again.status, 200, 'a closed watch no longer counts');
  });
});

describe('list page size', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ authenticator });
    const vm = (i: number): KubeObject => ({
      ...vmManifest(`vm-${String(i).padStart(4, '0')}`),
      metadata: { name: `vm-${String(i).padStart(4, '0')}`, namespace: 'default' },
    });
    await h.store.commit(
      Array.from({ length: DEFAULT_MAX_LIST_LIMIT + 20 }, (_, i) => ({
        type: 'create' as const,
        object: vm(i),
      })),
    );
  });
  after(async () => h.close());

  test(`a limit above ${DEFAULT_MAX_LIST_LIMIT} is lowered to it by default, and continue serves the rest`, async () => {
    const page = await h.request('GET', `${VMS}?limit=10000`);
    assert.equal(page.status, 200);
    assert.equal(page.json.items.length, DEFAULT_MAX_LIST_LIMIT);
    const token = (page.json.metadata as { continue?: string }).continue;
    assert.ok(token, 'the page carries continue');
    const rest = await h.request('GET', `${VMS}?limit=10000&continue=${encodeURIComponent(token)}`);
    assert.equal(rest.json.items.length, 20);
    assert.equal((rest.json.metadata as { continue?: string }).continue, undefined);
    const names = [...page.json.items, ...rest.json.items].map((o) => o.metadata.name);
    assert.equal(new Set(names).size, DEFAULT_MAX_LIST_LIMIT + 20);
    assert.equal(
      (await h.request('GET', `${VMS}?limit=7`)).json.items.length,
      7,
      'smaller limits are kept',
    );
  });
});
