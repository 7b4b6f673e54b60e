// HarrowClient over real HTTP against a scripted local server: paths, verbs, content types, Status errors, warnings, watch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiError,
  HarrowClient,
  TransportError,
  type WatchEvent,
} from '../../src/client/client.ts';
import { resourcePath } from '../../src/client/paths.ts';
import { LineSplitter, parseWatchLine } from '../../src/client/watch-stream.ts';
import { parseWarningHeader } from '../../src/client/warnings.ts';

interface Seen {
  method: string;
  url: string;
  contentType?: string;
  authorization?: string;
  body: string;
}

let server: Server;
let base = '';
const seen: Seen[] = [];
let respond: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res) =>
  res.end('{}');

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body,
      });
      respond(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const json = (
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const last = (): Seen => seen[seen.length - 1]!;
const vm = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'vm-a', namespace: 'default' },
  spec: {},
};

describe('paths', () => {
  test('namespaced, cluster-wide, cluster-scoped and core kinds', () => {
    assert.equal(
      resourcePath('VirtualMachine', { namespace: 'ns1', name: 'vm-a' }),
      '/apis/kubevirt.io/v1/namespaces/ns1/virtualmachines/vm-a',
    );
    assert.equal(resourcePath('VirtualMachine'), '/apis/kubevirt.io/v1/virtualmachines');
    assert.equal(
      resourcePath('MacAllocation', { namespace: 'ignored', name: '02-00-00-00-00-01' }),
      '/apis/harrow.io/v1/macallocations/02-00-00-00-00-01',
    );
    assert.equal(resourcePath('Pod', { namespace: 'default' }), '/api/v1/namespaces/default/pods');
    assert.equal(
      resourcePath('NetworkAttachmentDefinition', { namespace: 'd' }),
      '/apis/k8s.cni.cncf.io/v1/namespaces/d/network-attachment-definitions',
    );
    assert.throws(() => resourcePath('VirtualMachine', { name: 'x' }), /namespace is required/);
  });
});

describe('HarrowClient', () => {
  test('get sends the bearer token to the object path', async () => {
    respond = (_q, res) => json(res, 200, vm);
    const c = new HarrowClient({ server: base + '/', token: 't0k' });
    const got = await c.get('VirtualMachine', { namespace: 'default', name: 'vm-a' });
    assert.equal(got.metadata.name, 'vm-a');
    assert.equal(last().method, 'GET');
    assert.equal(last().url, '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/vm-a');
    assert.equal(last().authorization, 'Bearer t0k');
  });

  test('writes use the right verb, content type and dryRun', async () => {
    respond = (_q, res) => json(res, 200, vm);
    const c = new HarrowClient({ server: base, token: 't' });
    await c.create('VirtualMachine', {}, vm, { dryRun: true });
    assert.deepEqual(
      [last().method, last().url, last().contentType],
      [
        'POST',
        '/apis/kubevirt.io/v1/namespaces/default/virtualmachines?dryRun=All',
        'application/json',
      ],
    );
    assert.deepEqual(JSON.parse(last().body), vm);
    await c.replace('VirtualMachine', { namespace: 'default', name: 'vm-a' }, vm);
    assert.deepEqual(
      [last().method, last().url],
      ['PUT', '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/vm-a'],
    );
    await c.mergePatch(
      'VirtualMachine',
      { namespace: 'default', name: 'vm-a' },
      { spec: { runStrategy: 'Halted' } },
    );
    assert.deepEqual(
      [last().method, last().contentType],
      ['PATCH', 'application/merge-patch+json'],
    );
    await c.jsonPatch('VirtualMachine', { namespace: 'default', name: 'vm-a' }, [
      { op: 'test', path: '/a', value: 1 },
    ]);
    assert.deepEqual(
      [last().method, last().contentType, last().body],
      ['PATCH', 'application/json-patch+json', '[{"op":"test","path":"/a","value":1}]'],
    );
    await c.delete(
      'VirtualMachine',
      { namespace: 'default', name: 'vm-a' },
      { resourceVersion: '7' },
    );
    assert.equal(last().method, 'DELETE');
    assert.deepEqual(JSON.parse(last().body).preconditions, { resourceVersion: '7' });
  });

  test('list passes selectors and listAll follows continue tokens', async () => {
    respond = (req, res) => {
      const u = new URL(req.url!, base);
      const page = u.searchParams.get('continue');
      json(res, 200, {
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: page ? {} : { continue: 'p2' },
        items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: page ? 'b' : 'a' } }],
      });
    };
    const c = new HarrowClient({ server: base, token: 't' });
    const items = await c.listAll('Pod', {
      namespace: 'default',
      labelSelector: 'vm.kubevirt.io/name=vm-a',
    });
    assert.deepEqual(
      items.map((i) => i.metadata.name),
      ['a', 'b'],
    );
    assert.equal(
      seen.at(-2)!.url,
      '/api/v1/namespaces/default/pods?labelSelector=vm.kubevirt.io%2Fname%3Dvm-a',
    );
    assert.equal(
      last().url,
      '/api/v1/namespaces/default/pods?labelSelector=vm.kubevirt.io%2Fname%3Dvm-a&continue=p2',
    );
  });

  test('an error Status becomes an ApiError with its causes', async () => {
    const field = 'spec.template.spec.domain.devices.interfaces[0].macAddress';
    respond = (_q, res) =>
      json(res, 409, {
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Failure',
        code: 409,
        reason: 'Conflict',
        message: 'MAC 02:00:00:00:00:01 is in use',
        details: {
          causes: [
            {
              reason: 'FieldValueDuplicate',
              field,
              message: 'MAC 02:00:00:00:00:01 is in use by default/vm-b',
            },
          ],
        },
      });
    const c = new HarrowClient({ server: base, token: 't' });
    const err = await c
      .get('VirtualMachine', { namespace: 'default', name: 'vm-a' })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 409);
    assert.equal(err.reason, 'Conflict');
    assert.equal(err.causes[0]!.field, field);
  });

  test('a non-Status error body still gives code, reason and message', async () => {
    respond = (_q, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('nothing here');
    };
    const err = await new HarrowClient({ server: base })
      .get('Pod', { namespace: 'x', name: 'y' })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.deepEqual([err.code, err.reason, err.message], [404, 'NotFound', 'nothing here']);
  });

  test('Warning headers reach onWarning', async () => {
    respond = (_q, res) =>
      json(res, 201, vm, {
        warning: '299 - "MAC 52:54:00:00:00:01 is universally administered, outside every pool"',
      });
    const warnings: string[] = [];
    const c = new HarrowClient({ server: base, token: 't', onWarning: (w) => warnings.push(w) });
    await c.create('VirtualMachine', { namespace: 'default' }, vm);
    assert.deepEqual(warnings, [
      'MAC 52:54:00:00:00:01 is universally administered, outside every pool',
    ]);
  });

  test('subresources: start/stop/restart PUT, interfacelist GET, guest-exec POST', async () => {
    respond = (req, res) => {
      if (req.url!.endsWith('/interfacelist'))
        return json(res, 200, { items: [{ interfaceName: 'eth0', mac: '02:00:00:00:00:01' }] });
      if (req.url!.endsWith('/guest-exec'))
        return json(res, 200, { exitCode: 3, stdout: 'out', stderr: 'err' });
      res.writeHead(202);
      res.end();
    };
    const c = new HarrowClient({ server: base, token: 't' });
    await c.restart('ns1', 'vm-a');
    assert.deepEqual(
      [last().method, last().url],
      ['PUT', '/apis/subresources.kubevirt.io/v1/namespaces/ns1/virtualmachines/vm-a/restart'],
    );
    const ifaces = await c.interfaceList('ns1', 'vm-a');
    assert.equal(ifaces[0]!.mac, '02:00:00:00:00:01');
    const r = await c.guestExec('ns1', 'vm-a', ['ip', 'link']);
    assert.deepEqual(r, { exitCode: 3, stdout: 'out', stderr: 'err' });
    assert.deepEqual(
      [last().method, last().url, JSON.parse(last().body)],
      [
        'POST',
        '/apis/subresources.harrow.io/v1/namespaces/ns1/virtualmachineinstances/vm-a/guest-exec',
        { command: ['ip', 'link'] },
      ],
    );
  });

  test('watch delivers newline-delimited events split across chunks, then stops', async () => {
    respond = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const a = JSON.stringify({ type: 'ADDED', object: vm }) + '\n';
      const b =
        JSON.stringify({
          type: 'MODIFIED',
          object: { ...vm, metadata: { ...vm.metadata, resourceVersion: '9' } },
        }) + '\n';
      res.write(a + b.slice(0, 10));
      setTimeout(() => res.write(b.slice(10)), 20);
    };
    const c = new HarrowClient({ server: base, token: 't' });
    const events: WatchEvent[] = [];
    const h = c.watch('VirtualMachine', { namespace: 'default', resourceVersion: '5' }, (e) =>
      events.push(e),
    );
    const deadline = Date.now() + 30_000;
    while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    h.stop();
    assert.deepEqual((await h.done).reason, 'stopped');
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'MODIFIED'],
    );
    assert.equal(
      last().url,
      '/apis/kubevirt.io/v1/namespaces/default/virtualmachines?watch=1&resourceVersion=5',
    );
  });

  test('watch ends on an ERROR event and reports an HTTP error as its end', async () => {
    respond = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: {
            apiVersion: 'v1',
            kind: 'Status',
            status: 'Failure',
            code: 410,
            reason: 'Expired',
          },
        }) + '\n',
      );
    };
    const c = new HarrowClient({ server: base, token: 't' });
    const events: WatchEvent[] = [];
    assert.deepEqual(await c.watch('Pod', {}, (e) => events.push(e)).done, { reason: 'closed' });
    assert.equal(events[0]!.type, 'ERROR');
    respond = (_q, res) =>
      json(res, 401, {
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Failure',
        code: 401,
        reason: 'Unauthorized',
        message: 'Unauthorized',
      });
    const end = await c.watch('Pod', {}, () => {}).done;
    assert.equal(end.reason, 'error');
    assert.ok(end.reason === 'error' && end.error instanceof ApiError && end.error.code === 401);
  });

  test('no server: TransportError, and ready() is false', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = new HarrowClient({ server: `http://127.0.0.1:${port}`, token: 't' });
    const err = await c.get('Pod', { namespace: 'd', name: 'p' }).catch((e: unknown) => e);
    assert.ok(err instanceof TransportError, String(err));
    assert.match(err.message, /connection refused/);
    assert.equal(await c.ready(), false);
  });

  test('no answer in time, before the headers or inside the body: a TransportError that says so', async () => {
    const held: ServerResponse[] = [];
    try {
      respond = (_q, res) => void held.push(res);
      const c = new HarrowClient({ server: base, token: 't', requestTimeoutMs: 300 });
      const silent = await c.get('Pod', { namespace: 'd', name: 'p' }).catch((e: unknown) => e);
      assert.ok(silent instanceof TransportError, String(silent));
      assert.match(silent.message, /^cannot reach http:\/\/127\.0\.0\.1:\d+: no answer in time$/);
      respond = (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"kind":');
        held.push(res);
      };
      const cut = await c.get('Pod', { namespace: 'd', name: 'p' }).catch((e: unknown) => e);
      assert.ok(cut instanceof TransportError, String(cut));
      assert.match(cut.message, /pods\/p: the answer from .* was cut off: no answer in time$/);
      // The client is still usable: a later request is answered on a new connection.
      respond = (_q, res) => json(res, 200, { ...vm, kind: 'Pod' });
      assert.equal((await c.get('Pod', { namespace: 'd', name: 'p' })).kind, 'Pod');
      c.close();
    } finally {
      for (const res of held) res.destroy();
    }
  });
});

describe('wire formats', () => {
  test('LineSplitter keeps partial lines until they complete', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\n\n'), ['{"b":2}']);
    assert.deepEqual(s.push('{"c":3}'), []);
    assert.deepEqual(s.flush(), ['{"c":3}']);
  });

  test('parseWatchLine rejects what is not a watch event', () => {
    assert.throws(() => parseWatchLine('{"type":"NOPE","object":{}}'), /not a watch event/);
    assert.throws(() => parseWatchLine('nope'), /not JSON/);
  });

  test('Warning header: several RFC 7234 warnings, escaped quotes, bare text', () => {
    assert.deepEqual(parseWarningHeader('299 - "one", 299 - "two \\"quoted\\""'), [
      'one',
      'two "quoted"',
    ]);
    assert.deepEqual(parseWarningHeader('plain words'), ['plain words']);
    assert.deepEqual(parseWarningHeader(null), []);
    // What fetch hands over for the UTF-8 bytes of "02:… → quarantined": one character per byte.
    assert.deepEqual(
      parseWarningHeader(`299 - "${Buffer.from('02:… → quarantined', 'utf8').toString('latin1')}"`),
      ['02:… → quarantined'],
    );
  });
});

describe('rate limits', () => {
  const tooMany = (res: ServerResponse): void =>
    json(
      res,
      429,
      {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'TooManyRequests',
        message: 'over its rate limit',
        code: 429,
        details: { retryAfterSeconds: 0.1 },
      },
      { 'retry-after': '1' },
    );

  test('a 429 is sent again after Retry-After, body and all, until the server takes it', async () => {
    let refusals = 2;
    respond = (_q, res, body) => (refusals-- > 0 ? tooMany(res) : json(res, 201, JSON.parse(body)));
    const before = seen.length;
    const created = await new HarrowClient({ server: base, token: 't' }).create(
      'VirtualMachine',
      { namespace: 'default' },
      vm,
    );
    assert.equal(created.metadata.name, 'vm-a');
    const sent = seen.slice(before);
    assert.equal(sent.length, 3, 'two refusals, then the accepted one');
    assert.ok(
      sent.every((s) => s.method === 'POST' && JSON.parse(s.body).metadata.name === 'vm-a'),
    );
  });

  test('a server that keeps refusing gets a few tries, then the 429 is the error', async () => {
    respond = (_q, res) => tooMany(res);
    const before = seen.length;
    const e = await new HarrowClient({ server: base, token: 't' })
      .get('VirtualMachine', { namespace: 'default', name: 'vm-a' })
      .catch((x: unknown) => x);
    assert.ok(e instanceof ApiError && e.code === 429, String(e));
    assert.equal(seen.length - before, 5);
    respond = (_q, res) => res.end('{}');
  });
});
