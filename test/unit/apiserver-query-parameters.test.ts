// Query parameters read as kube-apiserver reads them: first of repeated keys, Go booleans, Go base-10 integers.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { goQueryBoolean, parseQueryString } from '../../src/apiserver/query-parameters.ts';
import { VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('query parameters with kube-apiserver’s rules', () => {
  it('a boolean is false only for false or 0 in any case, true for anything else, even empty', () => {
    for (const v of ['0', 'false', 'False', 'FALSE', 'fAlSe'])
      assert.equal(goQueryBoolean(v), false, v);
    for (const v of ['1', 't', 'T', 'true', 'True', 'TRUE', '', 'yes', 'f', 'F'])
      assert.equal(goQueryBoolean(v), true, v);
    assert.deepEqual(parseQueryString('watch=0&allowWatchBookmarks=T&sendInitialEvents='), {
      watch: 'false',
      allowWatchBookmarks: 'true',
      sendInitialEvents: 'true',
    });
  });

  it('the first of repeated keys counts; dryRun keeps all; + and %XX decode', () => {
    assert.deepEqual(
      parseQueryString(
        'watch=false&watch=true&labelSelector=app%3Dweb+x&labelSelector=b&dryRun=All&dryRun=All',
      ),
      { watch: 'false', labelSelector: 'app=web x', dryRun: ['All', 'All'] },
    );
  });

  it('limit follows strconv.ParseInt: a sign (%2B; a raw + is a space) and leading zeros accepted, hex, exponents, blanks and overflow refused', async () => {
    h = await startServer();
    for (const n of ['a', 'b', 'c']) await h.request('POST', VMS, vmManifest(n));
    for (const limit of ['%2B1', '01', '1&limit=x']) {
      const r = await h.request('GET', `${VMS}?limit=${limit}`);
      assert.equal(r.status, 200, `${limit}: ${r.body}`);
      assert.equal(r.json.items.length, 1, limit);
      assert.ok(r.json.metadata.continue, limit);
    }
    // Zero and negative mean no limit, as in kube-apiserver.
    for (const limit of ['0', '-5']) {
      const r = await h.request('GET', `${VMS}?limit=${limit}`);
      assert.equal(r.json.items.length, 3, limit);
    }
    for (const limit of ['0x1', '1e1', '1.0', '', '+1', '%201', '9223372036854775808']) {
      const r = await h.request('GET', `${VMS}?limit=${limit}`);
      assert.equal(r.status, 400, `${limit}: ${r.body}`);
      assert.equal(r.json.reason, 'BadRequest');
      assert.match(r.json.message, /limit: strconv\.ParseInt: parsing/);
    }
  });

  it('?watch=False lists; ?watch=T (or empty) watches', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    const listed = await h.request('GET', `${VMS}?watch=False`);
    assert.equal(listed.json.kind, 'VirtualMachineList');
    for (const w of ['T', '']) {
      const watched = await h.request('GET', `${VMS}?watch=${w}&timeoutSeconds=1`);
      assert.equal(watched.status, 200);
      assert.match(watched.body, /^\{"type":"ADDED","object":\{/, w);
    }
  });

  it('dryRun=All repeated is a dry run; any other value is refused', async () => {
    h = await startServer();
    const dry = await h.request('POST', `${VMS}?dryRun=All&dryRun=All`, vmManifest('a'));
    assert.equal(dry.status, 201, dry.body);
    assert.equal((await h.request('GET', `${VMS}/a`)).status, 404);
    const bad = await h.request('POST', `${VMS}?dryRun=All&dryRun=Some`, vmManifest('a'));
    assert.equal(bad.status, 400, bad.body);
  });

  it('sendInitialEvents on a list is 422 ListOptions (any value); a bad gracePeriodSeconds on delete is 400', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    for (const v of ['true', 'false', 'perhaps']) {
      const r = await h.request('GET', `${VMS}?sendInitialEvents=${v}`);
      assert.equal(r.status, 422, `${v}: ${r.body}`);
      assert.equal(r.json.details.kind, 'ListOptions');
      assert.equal(r.json.details.causes?.[0]?.field, 'sendInitialEvents');
      assert.match(r.json.message, /sendInitialEvents is forbidden for list/);
    }
    const bad = await h.request('DELETE', `${VMS}/a?gracePeriodSeconds=soon`);
    assert.equal(bad.status, 400, bad.body);
    assert.match(bad.json.message, /gracePeriodSeconds: strconv\.ParseInt/);
    assert.equal(
      (await h.request('GET', `${VMS}/a`)).status,
      200,
      'a refused delete deletes nothing',
    );
    assert.equal((await h.request('DELETE', `${VMS}/a?gracePeriodSeconds=0`)).status, 200);
  });

  it('an empty fieldSelector term is skipped, as fields.ParseSelector does', async () => {
    h = await startServer();
    await h.request('POST', VMS, vmManifest('a'));
    await h.request('POST', VMS, vmManifest('b'));
    const r = await h.request('GET', `${VMS}?fieldSelector=metadata.name%3Da,`);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(
      r.json.items.map((o) => o.metadata.name),
      ['a'],
    );
  });
});
