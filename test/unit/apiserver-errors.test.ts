// Every failure answers with a Kubernetes Status: parse errors, limits, auth, routing, verbs, validation and the unexpected.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AdmissionPlugin } from '../../src/apiserver/admission/types.ts';
import {
  VMS,
  auditRecords,
  startServer,
  vmManifest,
  type Harness,
  type Response,
} from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function assertStatus(r: Response, code: number, reason: string): void {
  assert.equal(r.status, code, r.body);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.json.kind, 'Status');
  assert.equal(r.json.apiVersion, 'v1');
  assert.equal(r.json.status, 'Failure');
  assert.equal(r.json.code, code);
  assert.equal(r.json.reason, reason);
  assert.equal(typeof r.json.message, 'string');
}

describe('Status errors', () => {
  it('bad JSON is 400 BadRequest saying so', async () => {
    h = await startServer();
    const r = await h.request('POST', VMS, '{"apiVersion": ', {
      'content-type': 'application/json',
    });
    assertStatus(r, 400, 'BadRequest');
    assert.match(r.json.message, /not valid JSON/);
    assertStatus(
      await h.request('POST', VMS, '[1,2]', { 'content-type': 'application/json' }),
      400,
      'BadRequest',
    );
    assertStatus(
      await h.request('POST', VMS, '', { 'content-type': 'application/json' }),
      400,
      'BadRequest',
    );
  });

  it('a body over the limit is 413 RequestEntityTooLarge', async () => {
    h = await startServer({ limits: { bodyBytes: 1024 } });
    const big = {
      ...vmManifest('big'),
      metadata: { name: 'big', annotations: { a: 'x'.repeat(2000) } },
    };
    assertStatus(await h.request('POST', VMS, big), 413, 'RequestEntityTooLarge');
    assert.equal((await h.request('POST', VMS, vmManifest('small'))).status, 201);
  });

  it('the default limit is 3 MiB', async () => {
    h = await startServer();
    const body = JSON.stringify({
      ...vmManifest('big'),
      metadata: { name: 'big', annotations: { a: 'x'.repeat(3 * 1024 * 1024) } },
    });
    assertStatus(
      await h.request('POST', VMS, body, { 'content-type': 'application/json' }),
      413,
      'RequestEntityTooLarge',
    );
  });

  it('no token or a wrong token is 401 Unauthorized, everywhere but the health probes', async () => {
    const server = await startServer();
    h = server;
    for (const url of ['/api', '/apis', '/version', VMS, '/no/such/route', `${VMS}/web`]) {
      const none = await server.app.inject({ method: 'GET', url });
      assert.equal(none.statusCode, 401, url);
      assert.equal(JSON.parse(none.body).reason, 'Unauthorized');
      const wrong = await server.app.inject({
        method: 'GET',
        url,
        headers: { authorization: 'Bearer nope' },
      });
      assert.equal(wrong.statusCode, 401, url);
    }
    const basic = await server.app.inject({
      method: 'GET',
      url: VMS,
      headers: { authorization: 'Basic YTpi' },
    });
    assert.equal(basic.statusCode, 401);
    for (const url of ['/healthz', '/livez', '/readyz']) {
      const r = await server.app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.body, 'ok');
    }
    assert.equal(
      (await auditRecords(server.store)).length,
      0,
      'unauthenticated attempts are not audited',
    );
  });

  it('/readyz is ok only once the server says it is ready', async () => {
    let ready = false;
    h = await startServer({ isReady: () => ready });
    assert.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
    ready = true;
    assert.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).body, 'ok');
  });

  it('an unknown route, kind or object is 404 NotFound', async () => {
    h = await startServer();
    assertStatus(
      await h.request('GET', '/apis/kubevirt.io/v1/namespaces/default/widgets'),
      404,
      'NotFound',
    );
    assertStatus(await h.request('GET', '/nothing/here'), 404, 'NotFound');
    const r = await h.request('GET', `${VMS}/ghost`);
    assertStatus(r, 404, 'NotFound');
    assert.equal(r.json.message, 'virtualmachines.kubevirt.io "ghost" not found');
    assert.deepEqual(r.json.details, {
      name: 'ghost',
      group: 'kubevirt.io',
      kind: 'virtualmachines',
    });
  });

  it('a verb the kind does not allow is 405 MethodNotAllowed', async () => {
    h = await startServer();
    assertStatus(
      await h.request('POST', '/apis/harrow.io/v1/macallocations', { metadata: { name: 'x' } }),
      405,
      'MethodNotAllowed',
    );
    assertStatus(await h.request('DELETE', '/api/v1/namespaces'), 405, 'MethodNotAllowed');
  });

  it('an invalid name is 422 Invalid with a cause naming metadata.name', async () => {
    h = await startServer();
    const r = await h.request('POST', VMS, { ...vmManifest('x'), metadata: { name: 'UPPER' } });
    assertStatus(r, 422, 'Invalid');
    assert.equal(r.json.details.causes?.[0]?.field, 'metadata.name');
    assert.equal(r.json.details.causes?.[0]?.reason, 'FieldValueInvalid');
    const labels = await h.request('POST', VMS, {
      ...vmManifest('x'),
      metadata: { name: 'x', labels: { ok: 'not ok!' } },
    });
    assertStatus(labels, 422, 'Invalid');
    assert.equal(labels.json.details.causes?.[0]?.field, 'metadata.labels["ok"]');
  });

  it('bad query parameters are 400 BadRequest', async () => {
    h = await startServer();
    assertStatus(await h.request('GET', `${VMS}?limit=many`), 400, 'BadRequest');
    assertStatus(await h.request('GET', `${VMS}?labelSelector=a%20in%20b`), 400, 'BadRequest');
    assertStatus(
      await h.request('GET', `${VMS}?fieldSelector=spec.runStrategy%3DAlways`),
      400,
      'BadRequest',
    );
    assertStatus(await h.request('GET', `${VMS}?limit=1&continue=garbage`), 400, 'BadRequest');
  });

  it('an unsupported body type is 415 UnsupportedMediaType', async () => {
    h = await startServer();
    assertStatus(
      await h.request('POST', VMS, '<vm/>', { 'content-type': 'application/xml' }),
      415,
      'UnsupportedMediaType',
    );
    assertStatus(
      await h.request('POST', VMS, 'name: x', { 'content-type': 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
  });

  it('anything unexpected is 500 InternalError, logged, and audited as a failure', async () => {
    const broken: AdmissionPlugin = {
      kinds: ['*'],
      async admit() {
        throw new TypeError('cannot read properties of undefined');
      },
    };
    const logged: unknown[] = [];
    const logger = {
      level: 'info',
      fatal: () => {},
      error: (o: unknown) => {
        logged.push(o);
      },
      warn: () => {},
      info: () => {},
      debug: () => {},
      trace: () => {},
      silent: () => {},
      child() {
        return logger;
      },
    };
    h = await startServer({ admission: [broken], logger });
    const r = await h.request('POST', VMS, vmManifest('web'));
    assertStatus(r, 500, 'InternalError');
    assert.match(r.json.message, /cannot read properties of undefined/);
    assert.equal(logged.length, 1);
    const [record] = await auditRecords(h.store);
    assert.equal((record?.spec as { outcome: { code: number } }).outcome.code, 500);
  });
});
