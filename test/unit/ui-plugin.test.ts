// The web UI plugin inside the real API server: static files with their types, SPA fallback, redirect, no token, no escape.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER, staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { createApiServer } from '../../src/apiserver/server.ts';
import { fileUnder, uiPlugin } from '../../src/apiserver/ui.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';

const INDEX = '<!doctype html><title>Harrow</title><div id="root"></div>';

describe('web UI plugin', () => {
  let dir: string;
  let store: ResourceStore;
  let app: FastifyInstance;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'harrow-ui-'));
    const dist = join(dir, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), INDEX);
    await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(join(dist, 'assets', 'index-abc123.css'), 'body{}');
    await writeFile(join(dir, 'secret.txt'), 'outside dist');
    store = await openSqliteStore(join(dir, 'harrow.db'));
    app = await createApiServer({
      store,
      admission: [],
      authenticator: staticTokenAuthenticator([{ token: 'tok', user: ADMIN_USER }]),
      logger: false,
      plugins: [uiPlugin({ distDir: dist })],
    });
  });

  after(async () => {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('redirects / to /ui/ without a token', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/ui/');
  });

  it('serves index.html at /ui/ without a token, not cached, with a CSP', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(res.body, INDEX);
  });

  it('serves hashed assets with their content type and a long cache', async () => {
    const js = await app.inject({ method: 'GET', url: '/ui/assets/index-abc123.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(js.body, 'console.log(1)');
    const css = await app.inject({ method: 'GET', url: '/ui/assets/index-abc123.css' });
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  });

  it('falls back to index.html for client-side routes', async () => {
    for (const url of ['/ui/vms', '/ui/vms/web-1/networks', '/ui/audit?vm=web-1']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX, url);
    }
  });

  it('answers 404 for a missing file rather than the page', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/assets/missing-000.js' });
    assert.equal(res.statusCode, 404);
    assert.notEqual(res.body, INDEX);
  });

  it('never serves a file outside the dist directory', async () => {
    for (const url of [
      '/ui/../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      assert.notEqual(res.body, 'outside dist', url);
    }
    assert.equal(await fileUnder(join(dir, 'dist'), '../secret.txt'), undefined);
    assert.equal(await fileUnder(join(dir, 'dist'), '%2e%2e/secret.txt'), undefined);
    assert.equal(
      await fileUnder(join(dir, 'dist'), 'assets/index-abc123.js'),
      join(dir, 'dist', 'assets', 'index-abc123.js'),
    );
  });

  it('still asks for a token on the API', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/namespaces' });
    assert.equal(res.statusCode, 401);
    const ok = await app.inject({
      method: 'GET',
      url: '/api/v1/namespaces',
      headers: { authorization: 'Bearer tok' },
    });
    assert.equal(ok.statusCode, 200);
  });

  it('says how to build the UI when index.html is missing', async () => {
    const empty = await createApiServer({
      store,
      admission: [],
      authenticator: staticTokenAuthenticator([]),
      logger: false,
      plugins: [uiPlugin({ distDir: join(dir, 'nowhere') })],
    });
    try {
      const res = await empty.inject({ method: 'GET', url: '/ui/' });
      assert.equal(res.statusCode, 503);
      assert.match(res.body, /npm run build:web/);
    } finally {
      await empty.close();
    }
  });
});
